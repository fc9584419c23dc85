import { accessSync, constants, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { headsDirectory, loadConfig } from '../config.js'
import { loadSigningKey, publicKeyFromPem, type ChainKey } from '../domain/signed-heads/chain-key.js'
import { headsFile } from '../domain/signed-heads/head-files.js'
import { migrate, openUnscopedOrm } from '../db/orm.js'
import { loginRoles } from '../db/roles.js'
import { verifyPracticeChain } from '../domain/chain/chain.service.js'
import { DEFAULT_PLAN } from '../domain/plan/plan.js'
import { PracticeGroup } from '../domain/practice-groups/practice-group.entity.js'
import { describeVerification } from '../domain/chain/describe-verification.js'
import { cliDatabase, endProcess } from './database.js'

const EXIT = { intact: 0, broken: 1, badArgument: 2 } as const

const USAGE = `Usage: npm run verify [-- --practice ID ...]        every practice when none is named
       npm run verify -- --heads FILE ...            also check against signed heads kept elsewhere (a practice's heads file)
       npm run verify -- --public-key FILE           check signed heads with this public key (PEM) instead of the signing key
       npm run verify -- --practice ID --head HEAD   also check that a chain head noted earlier is still there`

let practiceIds: number[]
let knownHead: Buffer | null = null
let headsFiles: string[] = []
let publicKeyFile: string | undefined
try {
  const { values } = parseArgs({
    options: { practice: { type: 'string', multiple: true }, head: { type: 'string' }, heads: { type: 'string', multiple: true }, 'public-key': { type: 'string' } }
  })
  headsFiles = values.heads ?? []
  publicKeyFile = values['public-key']
  practiceIds = (values.practice ?? []).map(value => {
    if (!/^\d{1,9}$/.test(value)) throw new Error(`"${value}" is not a practice id`)
    return Number(value)
  })
  if (values.head !== undefined) {
    if (practiceIds.length !== 1) throw new Error('--head belongs to one practice: name it with --practice')
    if (!/^[0-9a-fA-F]{64}$/.test(values.head)) throw new Error(`"${values.head}" is not a chain head (64 hexadecimal characters)`)
    knownHead = Buffer.from(values.head, 'hex')
  }
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`)
  endProcess(EXIT.badArgument)
}

const config = loadConfig()
let key: ChainKey
try {
  key = publicKeyFile ? publicKeyFromPem(readFileSync(publicKeyFile, 'utf8')) : loadSigningKey(config.CHAIN_SIGNING_KEY, config.DATA_DIR)
  for (const file of headsFiles) accessSync(file, constants.R_OK)
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`)
  endProcess(EXIT.badArgument)
}
const { url, embedded } = await cliDatabase(config)
await migrate(url)
const roles = await loginRoles(url, config.DATA_DIR, { app: config.APP_DATABASE_URL, keeper: config.KEEPER_DATABASE_URL })
const orm = await openUnscopedOrm(roles.keeper)
let exitCode: number
try {
  const where = practiceIds.length ? { id: { $in: practiceIds } } : {}
  const practices = await orm.em.fork().find(PracticeGroup, where, { orderBy: { id: 'asc' } })
  const unknown = practiceIds.filter(id => !practices.some(p => p.id === id))
  if (unknown.length) {
    console.error(`No practice with id ${unknown.join(', ')}.\n${USAGE}`)
    exitCode = EXIT.badArgument
  } else {
    let broken = 0
    for (const practice of practices) {
      const files = [{ path: headsFile(headsDirectory(config), practice.id), label: 'the heads file' }, ...headsFiles.map(path => ({ path, label: path }))]
      const result = await verifyPracticeChain(orm.em.fork(), DEFAULT_PLAN, practice.id, { knownHead, signing: { key, files } })
      const words = describeVerification(result, practice.timeZone)
      if (!result.intact) broken++
      console.log(`${result.intact ? 'INTACT' : 'BROKEN'}  ${practice.name} (#${practice.id}): ${words.headline}`)
      for (const line of [...words.details, ...words.notes]) console.log(`        ${line}`)
      console.log(`        Chain head ${words.head}`)
    }
    console.log(`Practices verified: ${practices.length}; broken: ${broken}. Signed heads checked with key ${key.fingerprint}.`)
    exitCode = broken > 0 ? EXIT.broken : EXIT.intact
  }
} finally {
  await orm.close()
  await embedded?.stop()
}
endProcess(exitCode)
