import t from 'tap'
import { execFile } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { build, buildOn, type TestContext } from '../helpers/app.js'
import { makeClinic } from '../helpers/clinic.js'
import { addRecord } from '../helpers/history.js'
import { signedInAgent } from '../helpers/agent.js'
import { ensureDatabase } from '../../src/db/databases.js'
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.js'
import { migrate } from '../../src/db/orm.js'
import { enableRoleLogins, rolePasswords } from '../../src/db/roles.js'
import { sealPracticeBefore } from '../../src/domain/chain/sealer.js'
import { verifyPracticeChain } from '../../src/domain/chain/chain.service.js'
import { signAndFileHeads } from '../../src/domain/signed-heads/sign-heads.js'
import { GROUP_HISTORY_PATH } from '../../src/routes/history/subjects.js'

const exec = promisify(execFile)
const FAR_FUTURE = new Date('9999-12-31T00:00:00Z')

/** The PostgreSQL major version of a client tool or a server. */
async function toolMajor (): Promise<number> {
  const { stdout } = await exec('pg_dump', ['--version'])
  return Number(/(\d+)\.\d+/.exec(stdout)![1])
}

async function serverMajor (url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return Math.floor(Number((await client.query<{ v: string }>("select current_setting('server_version_num') as v")).rows[0]!.v) / 10000)
  } finally {
    await client.end()
  }
}

/**
 * The server the backup is taken from: the tests' own when this machine's
 * pg_dump can read it, otherwise the machine's PostgreSQL on 5432 (an
 * older pg_dump refuses a newer server).
 */
async function sourceServer (): Promise<string> {
  const dumpMajor = await toolMajor()
  const candidates = [process.env.DATABASE_URL!, process.env.RESTORE_SOURCE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres']
  for (const url of candidates) {
    try {
      if (await serverMajor(url) <= dumpMajor) return url
    } catch {}
  }
  throw new Error(`No PostgreSQL that pg_dump ${dumpMajor} can back up: set RESTORE_SOURCE_URL`)
}

const passwords = rolePasswords(process.env.DATA_DIR ?? '.data')
const source = await sourceServer()
await enableRoleLogins(source, passwords)
const before = await build(t, {}, { server: source })

// The cluster restored into: an embedded PostgreSQL of this test's own, which counts its transactions from the start.
const clusterDir = mkdtempSync(join(tmpdir(), 'practice-audit-restore-'))
chmodSync(clusterDir, 0o755)
const cluster = await startEmbeddedPostgres(join(clusterDir, 'data'), 20000 + Math.floor(Math.random() * 20000))
t.teardown(async () => {
  await cluster.stop()
  rmSync(clusterDir, { recursive: true, force: true })
})

async function recordAndSeal (ctx: TestContext, clinic: Awaited<ReturnType<typeof makeClinic>>, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await addRecord(ctx.em(), clinic.owner, { at: new Date(ctx.clock.now().getTime() + i * 1000), description: `Viewed chart ${i}` })
  t.ok(await sealPracticeBefore(ctx.keeper.em.fork(), clinic.group.id, FAR_FUTURE, ctx.clock.now()))
}

t.test('after pg_dump and a restore into a new cluster, the history keeps sealing and verifies intact, and each chain explains the move', async t => {
  const clinic = await makeClinic(before.em())
  await recordAndSeal(before, clinic, 5)
  await signAndFileHeads(before.keeper.em, before.app.chainSigning.key, before.app.chainSigning.dir, before.clock.now())
  // Written after the last seal: restored unsealed, they must be sealed before the move is written.
  for (let i = 0; i < 2; i++) await addRecord(before.em(), clinic.owner, { at: before.clock.now(), description: `Late record ${i}` })

  const dump = join(clusterDir, 'backup.dump')
  await exec('pg_dump', ['--format=custom', `--file=${dump}`, before.databaseUrl])
  await enableRoleLogins(cluster.url, passwords)
  const restored = await ensureDatabase(cluster.url, 'restored')
  await exec('pg_restore', ['--exit-on-error', `--dbname=${restored}`, dump])

  const check = new pg.Client({ connectionString: restored })
  await check.connect()
  const { rows: [state] } = await check.query<{ behind: boolean }>(
    'select (select max(tx_id) from audit_records)::text::numeric > audit_tx(pg_current_xact_id())::text::numeric as behind')
  await check.end()
  t.equal(state!.behind, true, 'the new cluster counts its transactions from below the restored ones')

  await migrate(restored)
  const after = await buildOn(t, restored, { HEADS_DIR: before.app.chainSigning.dir })

  const owner = await signedInAgent(after.app, clinic.owner.email)
  t.equal((await owner.get('/patients')).statusCode, 200, 'the restored app records a view')
  t.ok(await sealPracticeBefore(after.keeper.em.fork(), clinic.group.id, FAR_FUTURE, after.clock.now()), 'new records are sealed')
  await signAndFileHeads(after.keeper.em, after.app.chainSigning.key, after.app.chainSigning.dir, after.clock.now())

  const chain = await after.em().getConnection().execute<Array<{ seq: number, kind: string, records: number, note: string | null }>>(
    'select seq, kind, cardinality(record_ids) as records, note from audit_chain where practice_group_id = ? order by seq', [clinic.group.id])
  t.same(chain.map(entry => entry.kind), ['seal', 'seal', 'move', 'seal'], 'the records restored unsealed are sealed before the move, the new ones after it')
  t.equal(chain[1]!.records, 2)
  const note = JSON.parse(chain[2]!.note!)
  t.not(note.fromCluster, note.toCluster, 'the move names both clusters')

  const result = await verifyPracticeChain(after.em(), after.plan, clinic.group.id, {
    signing: { key: after.app.chainSigning.key, files: after.app.chainSigning.filesOf(clinic.group.id) }
  })
  t.match(result, { intact: true, awaitingSeal: 0, moves: [{ seq: 3 }], signedHead: { seq: 4, sources: ['the database', 'the heads file'] } })
  t.ok(result.verified >= 9, `${result.verified} records verified: the restored ones, the sign-in and the view`)

  const page = await owner.post(`${GROUP_HISTORY_PATH}/verify`)
  t.match(page.body, /All \d+ records since .* are exactly as recorded/)
  t.match(page.body, /the history went on in another database cluster \(a restored backup\); chain entry #3 records the move/)

  await migrate(restored)
  const again = await after.em().getConnection().execute<Array<{ n: number }>>("select count(*)::int as n from audit_chain where kind = 'move'")
  t.equal(again[0]!.n, 1, 'a second start on the same cluster is no move')
})
