import t from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import { appendFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GENERATED_KEY_FILE, loadSigningKey } from '../../src/domain/signed-heads/chain-key.js'
import { appendHeads, linesFromEnd, parseHeadLine } from '../../src/domain/signed-heads/head-files.js'
import { headPayload, parsePayload, readSignedHead, signHead, type HeadFacts } from '../../src/domain/signed-heads/signed-head.js'

const dir = mkdtempSync(join(tmpdir(), 'practice-audit-keys-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

const facts = (key: string, seq = 1): HeadFacts => ({ practice: 7, seq, head: 'ab'.repeat(32), records: 12, at: '2026-12-02T10:00:00.000Z', previous: null, key })

t.test('without CHAIN_SIGNING_KEY a key is made once under the data directory, readable by its owner only', async t => {
  const first = loadSigningKey(undefined, join(dir, 'data'))
  const again = loadSigningKey(undefined, join(dir, 'data'))
  t.equal(again.fingerprint, first.fingerprint, 'the same key on every start')
  t.equal(statSync(join(dir, 'data', GENERATED_KEY_FILE)).mode & 0o777, 0o600)
  t.match(first.fingerprint, /^[0-9a-f]{64}$/)
})

t.test('a configured key that is missing, unreadable as PEM or not Ed25519 stops start-up naming the file', async t => {
  const rsa = join(dir, 'rsa.pem')
  writeFileSync(rsa, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }))
  const garbage = join(dir, 'garbage.pem')
  writeFileSync(garbage, 'not a key')
  for (const file of [join(dir, 'missing.pem'), rsa, garbage]) {
    t.throws(() => loadSigningKey(file, dir), { message: new RegExp(`The chain signing key ${file} cannot be used: .*Ed25519 private key in PEM form`) }, file)
  }
})

t.test('a signed head checks out only with its key, its exact text and its own signature', async t => {
  const key = loadSigningKey(undefined, join(dir, 'data'))
  const stranger = loadSigningKey(undefined, join(dir, 'stranger'))
  const signed = signHead(key, facts(key.fingerprint))
  t.match(readSignedHead(key, signed), { valid: true, facts: { practice: 7, seq: 1 } })
  t.match(readSignedHead(stranger, signed), { valid: false, why: 'other key' })
  t.match(readSignedHead(key, { ...signed, payload: signed.payload.replace('"records":12', '"records":13') }), { valid: false, why: 'bad signature' })
  t.match(readSignedHead(key, { ...signed, signature: Buffer.alloc(64) }), { valid: false, why: 'bad signature' })
  t.match(readSignedHead(key, { ...signed, payload: signed.payload.replace('{', '{ ') }), { valid: false, why: 'malformed' }, 'another spelling of the same facts is not what was signed')
  t.match(readSignedHead(key, { ...signed, payload: signed.payload.replace('}', ',"extra":1}') }), { valid: false, why: 'malformed' })
})

t.test('payloads that are not heads of this format are refused, whatever they hold', async t => {
  const good = facts('cd'.repeat(32))
  t.same(parsePayload(headPayload(good)), good)
  const hostile: unknown[] = [null, 1, 'x', [], { ...good, seq: 0 }, { ...good, seq: 1.5 }, { ...good, practice: -1 }, { ...good, head: 'AB'.repeat(32) },
    { ...good, head: 'ab' }, { ...good, at: 'yesterday' }, { ...good, previous: 'zz' }, { ...good, records: 2 ** 60 }, { ...good, key: 1 }]
  for (const value of hostile) t.equal(parsePayload(JSON.stringify(value)), null, JSON.stringify(value))
  t.equal(parsePayload('{'), null)
  t.equal(parsePayload(JSON.stringify({ v: 2, ...good })), null, 'another format version')
})

t.test('a heads file is read newest first across chunk boundaries, and a line cut short is passed over and never joined', async t => {
  const key = loadSigningKey(undefined, join(dir, 'data'))
  const file = join(dir, 'heads', '7.jsonl')
  const heads = Array.from({ length: 600 }, (_, i) => signHead(key, facts(key.fingerprint, i + 1)))
  await appendHeads(file, heads.slice(0, 300))
  appendFileSync(file, '{"payload":"cut sh')
  await appendHeads(file, heads.slice(300))
  const seen: number[] = []
  let unreadable = 0
  for await (const line of linesFromEnd(file)) {
    const head = parseHeadLine(line)
    if (head) seen.push(readSignedHead(key, head).facts!.seq)
    else unreadable++
  }
  t.equal(unreadable, 1, 'only the cut line')
  t.same(seen, heads.map((_, i) => i + 1).reverse())
  for await (const line of linesFromEnd(join(dir, 'none.jsonl'))) t.fail(`a missing file has no lines, not ${line}`)
})
