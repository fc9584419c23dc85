import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { publicKeyFromPem, spacedFingerprint, type ChainKey } from '../domain/signed-heads/chain-key.js'
import { checkReceipt } from '../domain/signed-heads/receipt.js'
import { endProcess } from './database.js'
import { counted } from '../plural.js'

const EXIT = { valid: 0, invalid: 1, badArgument: 2 } as const

const USAGE = `Usage: npm run verify-receipt FILE [-- --public-key KEY.pem]
Checks a receipt of signed chain heads offline; with --public-key, against the practice's published key
instead of the key the receipt carries.`

let text: string
let trusted: ChainKey | null = null
try {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'public-key': { type: 'string' } } })
  if (positionals.length !== 1) throw new Error('Name one receipt file.')
  text = readFileSync(positionals[0]!, 'utf8')
  if (values['public-key']) trusted = publicKeyFromPem(readFileSync(values['public-key'], 'utf8'))
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`)
  endProcess(EXIT.badArgument)
}

const check = checkReceipt(text, trusted)
for (const problem of check.problems) console.log(`PROBLEM  ${problem}`)
const first = check.heads[0]
const last = check.heads.at(-1)
if (first && last) {
  console.log(`${counted(check.heads.length, 'signed head', 'signed heads')}: from chain entry #${first.seq} (${first.at}, ${counted(first.records, 'record', 'records')} sealed) to #${last.seq} (${last.at}, ${counted(last.records, 'record', 'records')} sealed).`)
}
if (check.fingerprint) {
  console.log(`Signed with key ${spacedFingerprint(check.fingerprint)}${trusted ? ' (the public key given)' : ': compare it with the fingerprint the practice publishes on its history\'s integrity section'}.`)
}
console.log(check.valid ? 'VALID: every head carries a good signature and they follow one another.' : 'INVALID: see the problems above.')
endProcess(check.valid ? EXIT.valid : EXIT.invalid)
