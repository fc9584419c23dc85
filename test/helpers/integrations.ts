import { createHmac, timingSafeEqual } from 'node:crypto'
import type { EntityManager } from '@mikro-orm/postgresql'
import type { TestContext } from './app.js'
import type { Agent } from './agent.js'
import type { User } from '../../src/domain/users/user.entity.js'
import { sealPracticeBefore } from '../../src/domain/chain/sealer.js'
import { signAndFileHeads } from '../../src/domain/signed-heads/sign-heads.js'

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

/** Seals every record of these practices, then runs the signing pass that follows each seal pass. */
export async function sealAndSign (ctx: TestContext, practiceGroupIds: number[]): Promise<void> {
  for (const id of practiceGroupIds) {
    if (!await sealPracticeBefore(ctx.keeper.em.fork(), id, new Date('9999-12-31T00:00:00Z'), ctx.clock.now())) throw new Error(`practice ${id} was not sealed`)
  }
  await signAndFileHeads(ctx.keeper.em, ctx.app.chainSigning.key, ctx.app.chainSigning.dir, ctx.clock.now())
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
