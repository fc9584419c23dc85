import t from 'tap'
import { execFile, spawn } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { generateKeyPairSync } from 'node:crypto'
import pg from 'pg'
import { build } from '../helpers/app.js'
import { makeClinic, type Clinic } from '../helpers/clinic.js'
import { addRecord } from '../helpers/history.js'
import { signedInAgent } from '../helpers/agent.js'
import { sealPracticeBefore } from '../../src/domain/chain/sealer.js'
import { signAndFileHeads } from '../../src/domain/signed-heads/sign-heads.js'
import { headsFile } from '../../src/domain/signed-heads/head-files.js'
import { GROUP_HISTORY_PATH } from '../../src/routes/history/subjects.js'

const ctx = await build(t)
const signing = ctx.app.chainSigning
const work = mkdtempSync(join(tmpdir(), 'practice-audit-receipts-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))

interface Run { code: number | null, output: string }

/** Runs an npm script's command as an operator would: same data directory (so the same key), this test's database and heads. */
async function run (script: 'verify' | 'verify-receipt', ...args: string[]): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', `src/cli/${script}.ts`, ...args], {
    env: { PATH: process.env.PATH, DATABASE_URL: ctx.databaseUrl, HEADS_DIR: signing.dir, LOG_LEVEL: 'silent', ...(process.env.DATA_DIR ? { DATA_DIR: process.env.DATA_DIR } : {}) }
  })
  let output = ''
  child.stdout.on('data', chunk => { output += String(chunk) })
  child.stderr.on('data', chunk => { output += String(chunk) })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  return { code, output }
}

async function sealedAndSigned (clinic: Clinic, records: number): Promise<void> {
  for (let i = 0; i < records; i++) await addRecord(ctx.em(), clinic.owner, { at: new Date(ctx.clock.now().getTime() + i * 1000), description: `Viewed chart ${i}` })
  t.ok(await sealPracticeBefore(ctx.keeper.em.fork(), clinic.group.id, new Date('9999-12-31T00:00:00Z'), ctx.clock.now()))
  await signAndFileHeads(ctx.keeper.em, signing.key, signing.dir, ctx.clock.now())
}

/** As the database owner past the triggers: drop the newest seal, its records and its signed head. */
async function cutNewestSeal (clinic: Clinic): Promise<void> {
  const db = new pg.Client({ connectionString: ctx.databaseUrl })
  await db.connect()
  try {
    await db.query("set session_replication_role = 'replica'")
    const { rows: [{ seq }] } = await db.query<{ seq: number }>('select max(seq) as seq from audit_chain where practice_group_id = $1', [clinic.group.id])
    await db.query(`delete from audit_records where practice_group_id = $1 and id in (
      select unnest(record_ids) from audit_chain where practice_group_id = $1 and seq = $2)`, [clinic.group.id, seq])
    await db.query('delete from audit_chain where practice_group_id = $1 and seq = $2', [clinic.group.id, seq])
    await db.query('delete from signed_heads where practice_group_id = $1 and seq = $2', [clinic.group.id, seq])
  } finally {
    await db.end()
  }
}

t.test('npm run verify checks against the signed heads, and with --heads against a copy kept elsewhere', async t => {
  const clinic = await makeClinic(ctx.em())
  await sealedAndSigned(clinic, 2)
  await sealedAndSigned(clinic, 2)
  const intact = await run('verify', '--practice', String(clinic.group.id))
  t.equal(intact.code, 0, intact.output)
  t.match(intact.output, /INTACT.*\n.*Checked against the chain head signed on .* which vouches for 4 sealed records \(kept in the database and the heads file\)/)
  t.match(intact.output, `Signed heads checked with key ${signing.key.fingerprint}`)

  const keptElsewhere = join(work, `heads-${clinic.group.id}.jsonl`)
  copyFileSync(headsFile(signing.dir, clinic.group.id), keptElsewhere)
  rmSync(headsFile(signing.dir, clinic.group.id))
  await cutNewestSeal(clinic)
  t.equal((await run('verify', '--practice', String(clinic.group.id))).code, 0, 'with the local copy gone too, the cut is invisible from inside')
  const withCopy = await run('verify', '--practice', String(clinic.group.id), '--heads', keptElsewhere)
  t.equal(withCopy.code, 1, withCopy.output)
  t.match(withCopy.output, /BROKEN.*\n.*The chain ends at entry #1, but the head signed on .* vouches for entry #2: newer entries and their records were cut off/)

  const missing = await run('verify', '--heads', join(work, 'no-such-file.jsonl'))
  t.equal(missing.code, 2)
  t.match(missing.output, /no-such-file\.jsonl[\s\S]*Usage: npm run verify/)
})

t.test('a receipt downloaded from the app checks out offline with npm run verify-receipt and with openssl, and a changed one does not', async t => {
  const clinic = await makeClinic(ctx.em())
  await sealedAndSigned(clinic, 3)
  // A receipt keeps the last head of each day: the second seal comes a day later.
  ctx.clock.advance(86_400_000)
  await sealedAndSigned(clinic, 1)
  const owner = await signedInAgent(ctx.app, clinic.owner.email)
  const download = await owner.get(`${GROUP_HISTORY_PATH}/receipt.json`)
  t.equal(download.statusCode, 200)
  const receiptFile = join(work, `receipt-${clinic.group.id}.json`)
  writeFileSync(receiptFile, download.body)

  const valid = await run('verify-receipt', receiptFile)
  t.equal(valid.code, 0, valid.output)
  t.match(valid.output, /2 signed heads: from chain entry #1 .*3 records sealed.* to #2 .*4 records sealed/)
  t.match(valid.output, /VALID/)

  const publicKeyFile = join(work, 'key.pem')
  writeFileSync(publicKeyFile, signing.key.publicKeyPem)
  t.equal((await run('verify-receipt', receiptFile, '--public-key', publicKeyFile)).code, 0, 'checks against the published key')
  const strangerKeyFile = join(work, 'stranger.pem')
  writeFileSync(strangerKeyFile, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }))
  const stranger = await run('verify-receipt', receiptFile, '--public-key', strangerKeyFile)
  t.equal(stranger.code, 1, 'a receipt is not vouched for by a key that did not sign it')
  t.match(stranger.output, /signed by another key/)

  const receipt = JSON.parse(download.body)
  receipt.heads[1].payload = receipt.heads[1].payload.replace('"records":4', '"records":40')
  const alteredFile = join(work, `altered-${clinic.group.id}.json`)
  writeFileSync(alteredFile, JSON.stringify(receipt))
  const altered = await run('verify-receipt', alteredFile)
  t.equal(altered.code, 1)
  t.match(altered.output, /Head 2 does not match its signature: it was altered/)
  t.match(altered.output, /INVALID/)

  const notJson = join(work, 'not-a-receipt.json')
  writeFileSync(notJson, 'hello')
  t.equal((await run('verify-receipt', notJson)).code, 1)
  t.equal((await run('verify-receipt')).code, 2, 'no file named is a usage error')

  // The README's openssl steps, for someone without this app.
  const original = JSON.parse(download.body)
  const exec = promisify(execFile)
  writeFileSync(join(work, 'receipt-key.pem'), original.publicKey)
  writeFileSync(join(work, 'head.txt'), original.heads[0].payload)
  writeFileSync(join(work, 'head.sig'), Buffer.from(original.heads[0].signature, 'base64'))
  const openssl = ['pkeyutl', '-verify', '-pubin', '-inkey', join(work, 'receipt-key.pem'), '-rawin', '-in', join(work, 'head.txt'), '-sigfile', join(work, 'head.sig')]
  const { stdout } = await exec('openssl', openssl)
  t.match(stdout, /Signature Verified Successfully/)
  writeFileSync(join(work, 'head.txt'), original.heads[0].payload.replace('"records":3', '"records":30'))
  await t.rejects(exec('openssl', openssl), 'openssl refuses a changed head')
})
