import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { EntityManager } from '@mikro-orm/postgresql'
import type { TestContext } from './app.js'
import type { Agent } from './agent.js'
import type { User } from '../../src/domain/users/user.entity.js'
import { sealPracticeBefore } from '../../src/domain/chain/sealer.js'

/** `count` view records by `user`, one a millisecond from `at`, written in one statement. */
export async function addRecords (em: EntityManager, user: User, count: number, at: Date, patientId: number | null = null): Promise<void> {
  await em.getConnection().execute(
    `insert into audit_records (practice_group_id, occurred_at, user_id, user_name, action, page, record_type, record_id, description, url, ip, patient_id)
     select ?, ?::timestamptz + n * interval '1 millisecond', ?, ?, 'view', 'Patient profile', 'patient', n::text, 'Viewed chart ' || n, '/patients/' || n, '203.0.113.7', ?
       from generate_series(1, ?) n`,
    [user.practiceGroupId, at, user.id, user.name, patientId, count])
}

/** The practice's record ids in the order its chain sealed them. */
export async function sealedOrder (em: EntityManager, practiceGroupId: number): Promise<string[]> {
  const rows = await em.getConnection().execute<{ id: string }[]>(
    `select u.id::text as id from audit_chain c cross join lateral unnest(c.record_ids) with ordinality u(id, idx)
      where c.practice_group_id = ? and c.kind = 'seal' order by c.seq, u.idx`, [practiceGroupId])
  return rows.map(row => row.id)
}

/**
 * Seals every record of these practices, then signs each chain's head as
 * the signing pass does after a seal pass: a payload naming the head, and a
 * 64-byte signature (random here: receivers are given it to check with the
 * public key, which these tests do not do).
 */
export async function sealAndSign (ctx: TestContext, practiceGroupIds: number[]): Promise<void> {
  for (const id of practiceGroupIds) {
    if (!await sealPracticeBefore(ctx.keeper.em.fork(), id, new Date('9999-12-31T00:00:00Z'), ctx.clock.now())) throw new Error(`practice ${id} was not sealed`)
    const [head] = await ctx.em().getConnection().execute<{ seq: number, hash: Buffer }[]>(
      'select seq, hash from audit_chain where practice_group_id = ? and seq > coalesce((select max(seq) from signed_heads where practice_group_id = ?), 0) order by seq desc limit 1', [id, id])
    if (!head) continue
    const payload = JSON.stringify({ v: 1, practice: id, seq: head.seq, head: head.hash.toString('hex'), at: ctx.clock.now().toISOString() })
    await ctx.em().getConnection().execute('insert into signed_heads (practice_group_id, seq, signed_at, payload, signature) values (?, ?, ?, ?, ?)',
      [id, head.seq, ctx.clock.now(), payload, randomBytes(64)])
  }
}

/** Adds an endpoint through the page, as a Full Access user does, and returns its id and the secret shown once. */
export async function addedEndpoint (agent: Agent, name: string, url: string): Promise<{ id: number, secret: string }> {
  await agent.get('/settings/integrations')
  const page = await agent.post('/settings/integrations', { name, url })
  const secret = /id="secret"[^>]*value="([^"]+)"/.exec(page.body)?.[1]
  const id = /data-endpoint-id="(\d+)"/.exec(page.body)?.[1]
  if (page.statusCode !== 201 || !secret || !id) throw new Error(`the endpoint was not added: ${page.statusCode} ${page.body.slice(0, 500)}`)
  return { id: Number(id), secret }
}

/** A receiver's check, written from the README rather than from the sender's code: HMAC-SHA256 of "timestamp.body". */
export function validSignature (secret: string, timestamp: string, signature: string, body: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`)
  const given = Buffer.from(signature)
  return /^\d+$/.test(timestamp) && given.length === expected.length && timingSafeEqual(given, expected)
}
