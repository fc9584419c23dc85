import { parseArgs } from 'node:util'
import { loadConfig } from '../config.js'
import { migrate, openUnscopedOrm } from '../db/orm.js'
import { loginRoles } from '../db/roles.js'
import { verifyPracticeChain } from '../domain/chain/chain.service.js'
import { DEFAULT_PLAN } from '../domain/plan/plan.js'
import { PracticeGroup } from '../domain/practice-groups/practice-group.entity.js'
import { describeVerification } from '../domain/chain/describe-verification.js'
import { cliDatabase, endProcess } from './database.js'

const EXIT = { intact: 0, broken: 1, badArgument: 2 } as const

const USAGE = `Usage: npm run verify [-- --practice ID ...]        every practice when none is named
       npm run verify -- --practice ID --head HEAD   also check that a chain head noted earlier is still there`

let practiceIds: number[]
let knownHead: Buffer | null = null
try {
  const { values } = parseArgs({ options: { practice: { type: 'string', multiple: true }, head: { type: 'string' } } })
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
      const result = await verifyPracticeChain(orm.em.fork(), DEFAULT_PLAN, practice.id, knownHead)
      const words = describeVerification(result, practice.timeZone)
      if (!result.intact) broken++
      console.log(`${result.intact ? 'INTACT' : 'BROKEN'}  ${practice.name} (#${practice.id}): ${words.headline}`)
      for (const line of words.details) console.log(`        ${line}`)
      console.log(`        Chain head ${words.head}`)
    }
    console.log(`Practices verified: ${practices.length}; broken: ${broken}.`)
    exitCode = broken > 0 ? EXIT.broken : EXIT.intact
  }
} finally {
  await orm.close()
  await embedded?.stop()
}
endProcess(exitCode)
