import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { EntityManager } from '@mikro-orm/postgresql'
import { testDatabase } from '../helpers/app.js'
import { makeClinic, type Clinic } from '../helpers/clinic.js'
import { addRecord } from '../helpers/history.js'
import { openUnscopedOrm } from '../../src/db/orm.js'
import { sealPracticeBefore } from '../../src/domain/chain/sealer.js'

const DAY = 86_400_000
const databaseUrl = await testDatabase(t)
// Practice ids start again in every test database: its heads' copies are kept apart from any other's.
const headsDir = mkdtempSync(join(tmpdir(), 'practice-audit-heads-'))
t.teardown(() => rmSync(headsDir, { recursive: true, force: true }))
const orm = await openUnscopedOrm(databaseUrl)
t.teardown(() => orm.close(true))
const em = (): EntityManager => orm.em.fork() as EntityManager

interface Run { code: number | null, output: string }

/** Runs an npm script's command as an operator would, against this test's database. */
async function run (script: 'verify' | 'scheduled-job', ...args: string[]): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', `src/cli/${script}.ts`, ...args], {
    env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', HEADS_DIR: headsDir }
  })
  let output = ''
  child.stdout.on('data', chunk => { output += String(chunk) })
  child.stderr.on('data', chunk => { output += String(chunk) })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  return { code, output }
}

async function sealedClinic (records: number, daysAgo = 0): Promise<Clinic> {
  const clinic = await makeClinic(em())
  const start = Date.now() - daysAgo * DAY
  for (let i = 0; i < records; i++) await addRecord(em(), clinic.owner, { at: new Date(start + i * 1000), description: `Viewed chart ${i}` })
  if (!await sealPracticeBefore(em(), clinic.group.id, new Date('9999-12-31T00:00:00Z'), new Date())) throw new Error('the records could not be sealed')
  return clinic
}

/** The database owner, connected past the app's append-only triggers: the tampering the chain must reveal. */
async function asOwner (sql: string, values: unknown[] = []): Promise<void> {
  const owner = new pg.Client({ connectionString: databaseUrl })
  await owner.connect()
  try {
    await owner.query("set session_replication_role = 'replica'")
    await owner.query(sql, values)
  } finally {
    await owner.end()
  }
}

const intact = await sealedClinic(3)

t.test('when every chain verifies, then npm run verify exits 0', async t => {
  const result = await run('verify', '--practice', String(intact.group.id))
  t.match(result.output, /INTACT/)
  t.equal(result.code, 0)
})

t.test('when a sealed record was edited as the database owner, then npm run verify prints BROKEN and exits 1', async t => {
  const tampered = await sealedClinic(3)
  await asOwner(`update audit_records set description = 'Viewed nothing'
                  where id = (select min(id) from audit_records where practice_group_id = $1)`, [tampered.group.id])
  const result = await run('verify')
  t.match(result.output, new RegExp(`BROKEN  ${tampered.group.name}`))
  t.equal(result.code, 1)
})

t.test('when verify is named a practice that does not exist or a malformed argument, then it exits 2 and verifies nothing', async t => {
  const unknown = await run('verify', '--practice', '99999999')
  t.match(unknown.output, 'No practice with id 99999999.')
  t.notMatch(unknown.output, /INTACT|BROKEN/)
  t.equal(unknown.code, 2)
  for (const args of [['--practice', 'abc'], ['--bogus']]) {
    const malformed = await run('verify', ...args)
    t.match(malformed.output, /Usage: npm run verify/, args.join(' '))
    t.equal(malformed.code, 2, args.join(' '))
  }
})

t.test('when the scheduled job fails for a practice, then npm run jobs names it and exits 1; with an unknown argument it exits 2', async t => {
  const fine = await run('scheduled-job')
  t.equal(fine.code, 0, 'a run where every practice succeeds exits 0')

  const failing = await sealedClinic(2, 60)
  await asOwner(`create function refuse_purge () returns trigger language plpgsql as $$ begin raise exception 'deletes refused'; end $$`)
  await asOwner(`create trigger refuse_purge before delete on audit_records for each row
                 when (old.practice_group_id = ${failing.group.id}) execute function refuse_purge()`)
  const failed = await run('scheduled-job')
  t.match(failed.output, new RegExp(`${failing.group.name} \\(#${failing.group.id}\\):.*FAILED: .*deletes refused`))
  t.equal(failed.code, 1)

  const unknownArgument = await run('scheduled-job', '--dryrun')
  t.match(unknownArgument.output, /Usage: npm run jobs/)
  t.equal(unknownArgument.code, 2)
})
