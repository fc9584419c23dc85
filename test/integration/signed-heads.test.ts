import t from 'tap'
import type { Test } from 'tap'
import { readFileSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import type { PoolClient } from 'pg'
import { build } from '../helpers/app.js'
import { makeClinic, type Clinic } from '../helpers/clinic.js'
import { addRecord } from '../helpers/history.js'
import { signedInAgent } from '../helpers/agent.js'
import { sealPracticeBefore } from '../../src/domain/chain/sealer.js'
import { verifyPracticeChain } from '../../src/domain/chain/chain.service.js'
import { clientQuery, insertEntry } from '../../src/domain/chain/chain-store.js'
import { nextEntry, instantMicros, storedInstant, type ChainEntry } from '../../src/domain/chain/chain-encoding.js'
import { declareSealingCursor, fetchChainRecords } from '../../src/domain/audit-records/chain-reads.js'
import { signAndFileHeads } from '../../src/domain/signed-heads/sign-heads.js'
import { headsFile, parseHeadLine } from '../../src/domain/signed-heads/head-files.js'
import { readSignedHead } from '../../src/domain/signed-heads/signed-head.js'
import { GROUP_HISTORY_PATH } from '../../src/routes/history/subjects.js'

const ctx = await build(t)
const signing = ctx.app.chainSigning

async function clinicWithRecords (count: number): Promise<Clinic> {
  const clinic = await makeClinic(ctx.em())
  await addRecords(clinic, count)
  return clinic
}

async function addRecords (clinic: Clinic, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await addRecord(ctx.em(), clinic.owner, { at: new Date(ctx.clock.now().getTime() + i * 1000), description: `Viewed chart ${i}` })
  }
}

/** One pass of the sealer as the app runs it: seal what is finished, then sign and file the heads that moved. */
async function sealAndSign (clinic: Clinic): Promise<void> {
  t.ok(await sealPracticeBefore(ctx.keeper.em.fork(), clinic.group.id, new Date('9999-12-31T00:00:00Z'), ctx.clock.now()), 'every record is sealed')
  await signAndFileHeads(ctx.keeper.em, signing.key, signing.dir, ctx.clock.now())
}

function verify (clinic: Clinic, files = signing.filesOf(clinic.group.id)) {
  return verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id, { signing: { key: signing.key, files } })
}

/** The database owner past the append-only triggers: the one who can rewrite anything inside the database. */
async function asOwner (t: Test): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: ctx.databaseUrl })
  await client.connect()
  t.teardown(() => client.end())
  await client.query("set session_replication_role = 'replica'")
  return client
}

/**
 * What an owner who knows the chain's format can do: change a record, then
 * throw the practice's chain away and seal its records again, `perSeal` at
 * a time, so every entry and hash inside the database agrees.
 */
async function rewriteChain (t: Test, clinic: Clinic, perSeal: number): Promise<void> {
  const db = await asOwner(t)
  await db.query('begin')
  await db.query(`update audit_records set description = 'Viewed nothing' where id = (select min(id) from audit_records where practice_group_id = $1)`, [clinic.group.id])
  await db.query('delete from audit_chain where practice_group_id = $1', [clinic.group.id])
  await declareSealingCursor(db as unknown as PoolClient, 'rewrite', 0n, '9223372036854775807')
  const records = (await fetchChainRecords(db as unknown as PoolClient, 'rewrite', 100_000)).filter(r => r.practiceGroupId === clinic.group.id)
  await db.query('close rewrite')
  let head: ChainEntry | null = null
  for (let i = 0; i < records.length; i += perSeal) {
    const batch = records.slice(i, i + perSeal)
    const entry: ChainEntry = nextEntry(head, {
      practiceGroupId: clinic.group.id, kind: 'seal', createdAt: storedInstant(ctx.clock.now()), recordIds: batch.map(r => r.id),
      recordDigests: Buffer.concat(batch.map(r => r.digest)), recordTimes: batch.map(r => instantMicros(r.occurredAt)), cutoff: null
    })
    await insertEntry(clientQuery(db as unknown as PoolClient), entry)
    head = entry
  }
  await db.query('commit')
}

t.test('when records are sealed, then the chain head is signed, kept in the database and in the heads file, and verification checks against it', async t => {
  const clinic = await clinicWithRecords(4)
  await sealAndSign(clinic)
  const rows = await ctx.em().getConnection().execute<Array<{ seq: number, payload: string, signature: Buffer }>>(
    'select seq, payload, signature from signed_heads where practice_group_id = ? order by seq', [clinic.group.id])
  t.equal(rows.length, 1, 'one signed head for the one seal')
  const reading = readSignedHead(signing.key, { payload: rows[0]!.payload, signature: rows[0]!.signature })
  t.match(reading, { valid: true, facts: { practice: clinic.group.id, seq: 1, records: 4, previous: null, key: signing.key.fingerprint } })

  const lines = readFileSync(headsFile(signing.dir, clinic.group.id), 'utf8').trim().split('\n')
  t.equal(lines.length, 1)
  t.equal(parseHeadLine(lines[0]!)!.payload, rows[0]!.payload, 'the file holds the same signed head')

  await addRecords(clinic, 3)
  await sealAndSign(clinic)
  const second = readFileSync(headsFile(signing.dir, clinic.group.id), 'utf8').trim().split('\n').map(line => parseHeadLine(line)!)
  t.equal(second.length, 2)
  t.match(readSignedHead(signing.key, second[1]!), { valid: true, facts: { seq: 2, records: 7 } })
  t.not(JSON.parse(second[1]!.payload).previous, null, 'each signed head names the one before it')

  await signAndFileHeads(ctx.keeper.em, signing.key, signing.dir, ctx.clock.now())
  t.equal(readFileSync(headsFile(signing.dir, clinic.group.id), 'utf8').trim().split('\n').length, 2, 'a chain that did not move is not signed again')

  const result = await verify(clinic)
  t.match(result, { intact: true, verified: 7, unsignedEntries: 0, signedHead: { seq: 2, records: 7, sources: ['the database', 'the heads file'] } })
})

t.test('when the owner rewrites a record and its whole chain, then verification reports a rewrite under the signed head', async t => {
  const clinic = await clinicWithRecords(6)
  await sealAndSign(clinic)
  t.ok((await verify(clinic)).intact)
  await rewriteChain(t, clinic, 2)
  const inside = await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id)
  t.equal(inside.intact, true, 'without the signed heads the rewritten chain agrees with itself')
  const result = await verify(clinic)
  t.equal(result.intact, false)
  t.match(result.firstProblem?.message, /Chain entry #1 is not the one the head signed on .* vouches for: the chain was rewritten under a signed head/)
})

t.test('when the owner also removes the signed heads from the database, then the heads file still reveals the rewrite', async t => {
  const clinic = await clinicWithRecords(5)
  await sealAndSign(clinic)
  await rewriteChain(t, clinic, 1)
  const db = await asOwner(t)
  await db.query('delete from signed_heads where practice_group_id = $1', [clinic.group.id])
  const result = await verify(clinic)
  t.equal(result.intact, false)
  t.match(result.firstProblem?.message, /rewritten under a signed head/)
  t.match(result.signedHead, { sources: ['the heads file'] })
})

t.test('when the newest entries and their records are cut off, then verification says they were cut off', async t => {
  const clinic = await clinicWithRecords(3)
  await sealAndSign(clinic)
  await addRecords(clinic, 3)
  await sealAndSign(clinic)
  const db = await asOwner(t)
  await db.query(`delete from audit_records where practice_group_id = $1 and id in (
    select unnest(record_ids) from audit_chain where practice_group_id = $1 and seq = 2)`, [clinic.group.id])
  await db.query('delete from audit_chain where practice_group_id = $1 and seq = 2', [clinic.group.id])
  await db.query('delete from signed_heads where practice_group_id = $1 and seq = 2', [clinic.group.id])
  const result = await verify(clinic)
  t.equal(result.intact, false, 'what remains agrees with itself and with the database\'s newest head, but not with the file')
  t.match(result.firstProblem?.message, /The chain ends at entry #1, but the head signed on .* \(kept in the heads file\) vouches for entry #2: newer entries and their records were cut off/)
})

t.test('when only the signed heads are removed from the database, then verification says so', async t => {
  const clinic = await clinicWithRecords(2)
  await sealAndSign(clinic)
  const db = await asOwner(t)
  await db.query('delete from signed_heads where practice_group_id = $1', [clinic.group.id])
  const result = await verify(clinic)
  t.equal(result.intact, false)
  t.match(result.firstProblem?.message, /signed heads were removed from the database/)
})

t.test('when a signed head in the database is altered, then its signature gives it away', async t => {
  const clinic = await clinicWithRecords(2)
  await sealAndSign(clinic)
  const db = await asOwner(t)
  await db.query(`update signed_heads set payload = replace(payload, '"records":2', '"records":3') where practice_group_id = $1`, [clinic.group.id])
  const result = await verify(clinic, [])
  t.equal(result.intact, false)
  t.match(result.firstProblem?.message, /A signed head for entry #\d+ in the database does not carry this key's signature/)
})

t.test('when a heads file lost its copies, then the next pass writes them again in order', async t => {
  const clinic = await clinicWithRecords(2)
  await sealAndSign(clinic)
  await addRecords(clinic, 2)
  await sealAndSign(clinic)
  const file = headsFile(signing.dir, clinic.group.id)
  const whole = readFileSync(file, 'utf8')
  // A copy cut short by a crash, and the newest line lost.
  writeFileSync(file, whole.split('\n')[0]!.slice(0, 40))
  await addRecords(clinic, 1)
  await sealAndSign(clinic)
  const heads = readFileSync(file, 'utf8').split('\n').slice(1).filter(Boolean).map(line => parseHeadLine(line)!)
  t.same(heads.map(head => readSignedHead(signing.key, head).facts?.seq), [1, 2, 3], 'every head is in the file again, oldest first')
  t.ok((await verify(clinic)).intact)
})

t.test('the app and the keeper cannot change or remove a signed head, and the app sees only its own practice\'s', async t => {
  const clinic = await clinicWithRecords(1)
  const other = await clinicWithRecords(1)
  await sealAndSign(clinic)
  await sealAndSign(other)
  for (const [who, url] of [['app', ctx.roles.app], ['keeper', ctx.roles.keeper]] as const) {
    const db = new pg.Client({ connectionString: url })
    await db.connect()
    t.teardown(() => db.end())
    await t.rejects(db.query('update signed_heads set payload = payload where practice_group_id = $1', [clinic.group.id]), { code: '42501' }, `${who} cannot update`)
    await t.rejects(db.query('delete from signed_heads where practice_group_id = $1', [clinic.group.id]), { code: '42501' }, `${who} cannot delete`)
  }
  const app = new pg.Client({ connectionString: ctx.roles.app })
  await app.connect()
  t.teardown(() => app.end())
  await t.rejects(app.query("insert into signed_heads (practice_group_id, seq, signed_at, payload, signature) values ($1, 99, now(), '{}', decode(repeat('00', 64), 'hex'))", [clinic.group.id]), { code: '42501' }, 'app cannot add a head')
  await app.query("select set_config('app.practice_id', $1, false)", [String(clinic.group.id)])
  const { rows } = await app.query<{ practice_group_id: number }>('select distinct practice_group_id from signed_heads')
  t.same(rows.map(row => row.practice_group_id), [clinic.group.id])
})

t.test('the integrity section shows the key, offers it and a receipt to Full Access users only, and the receipt is recorded', async t => {
  const clinic = await clinicWithRecords(3)
  await sealAndSign(clinic)
  const owner = await signedInAgent(ctx.app, clinic.owner.email)
  const page = await owner.get(GROUP_HISTORY_PATH)
  t.match(page.body, signing.key.fingerprint.slice(0, 8), 'the fingerprint is shown')
  t.match(page.body, signing.key.publicKeyPem.split('\n')[1]!, 'and the public key itself')

  const verified = await owner.post(`${GROUP_HISTORY_PATH}/verify`)
  t.match(verified.body, /Checked against the chain head signed on .* which vouches for 3 sealed records \(kept in the database and the heads file\)/)

  const key = await owner.get(`${GROUP_HISTORY_PATH}/signing-key.pem`)
  t.equal(key.statusCode, 200)
  t.equal(key.body, signing.key.publicKeyPem)

  const receipt = await owner.get(`${GROUP_HISTORY_PATH}/receipt.json`)
  t.equal(receipt.statusCode, 200)
  t.match(receipt.headers['content-disposition'], /attachment; filename="chain-receipt-/)
  const body = JSON.parse(receipt.body)
  t.equal(body.fingerprint, signing.key.fingerprint)
  t.equal(body.heads.length, 1)

  const bad = await owner.get(`${GROUP_HISTORY_PATH}/receipt.json?from=2026-13-40`)
  t.equal(bad.statusCode, 400)
  t.match(bad.body, 'No receipt was made: From: &quot;2026-13-40&quot; is not a date.')

  const recorded = await ctx.em().getConnection().execute<Array<{ description: string }>>(
    "select description from audit_records where practice_group_id = ? and action = 'export' order by id desc limit 1", [clinic.group.id])
  t.match(recorded[0]?.description, /^Downloaded a receipt of 1 signed chain heads for /)

  const practitioner = await signedInAgent(ctx.app, clinic.practitioner.email)
  for (const path of ['/signing-key.pem', '/receipt.json']) {
    t.equal((await practitioner.get(`${GROUP_HISTORY_PATH}${path}`)).statusCode, 403, `${path} is for Full Access users`)
  }
})

t.test('a heads file kept elsewhere still reveals a cut after the local copy is gone', async t => {
  const clinic = await clinicWithRecords(2)
  await sealAndSign(clinic)
  await addRecords(clinic, 2)
  await sealAndSign(clinic)
  const keptElsewhere = join(signing.dir, `elsewhere-${clinic.group.id}.jsonl`)
  copyFileSync(headsFile(signing.dir, clinic.group.id), keptElsewhere)
  rmSync(headsFile(signing.dir, clinic.group.id))
  const db = await asOwner(t)
  await db.query(`delete from audit_records where practice_group_id = $1 and id in (
    select unnest(record_ids) from audit_chain where practice_group_id = $1 and seq = 2)`, [clinic.group.id])
  await db.query('delete from audit_chain where practice_group_id = $1 and seq = 2', [clinic.group.id])
  await db.query('delete from signed_heads where practice_group_id = $1 and seq = 2', [clinic.group.id])
  t.ok((await verify(clinic)).intact, 'with the local copy gone, the cut is invisible from here')
  const result = await verify(clinic, [{ path: keptElsewhere, label: keptElsewhere }])
  t.equal(result.intact, false)
  t.match(result.firstProblem?.message, /cut off/)
  t.ok(statSync(keptElsewhere).size > 0)
})
