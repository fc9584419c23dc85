import { parseArgs } from 'node:util'
import { loadConfig } from '../config.js'
import { migrate, openOrm } from '../db/orm.js'
import { verifyPracticeChain } from '../domain/chain/chain.service.js'
import { PracticeGroup } from '../domain/practice-groups/practice-group.entity.js'
import { describeVerification } from '../domain/chain/describe-verification.js'
import { cliDatabase } from './cli-database.js'

const USAGE = 'Usage: npm run verify [-- --practice ID ...]   (every practice when none is named)'

let practiceIds: number[]
try {
  const { values } = parseArgs({ options: { practice: { type: 'string', multiple: true } } })
  practiceIds = (values.practice ?? []).map(value => {
    if (!/^\d{1,9}$/.test(value)) throw new Error(`"${value}" is not a practice id`)
    return Number(value)
  })
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`)
  process.exit(2)
}

const config = loadConfig()
const { url, embedded } = await cliDatabase(config)
await migrate(url)
const orm = await openOrm(url, 2)
try {
  const where = practiceIds.length ? { id: { $in: practiceIds } } : {}
  const practices = await orm.em.fork().find(PracticeGroup, where, { orderBy: { id: 'asc' } })
  const unknown = practiceIds.filter(id => !practices.some(p => p.id === id))
  if (unknown.length) console.error(`No practice with id ${unknown.join(', ')}.`)
  let broken = 0
  for (const practice of practices) {
    const result = await verifyPracticeChain(orm.em.fork(), practice.id)
    const words = describeVerification(result, practice.timeZone)
    if (!result.intact) broken++
    console.log(`${result.intact ? 'INTACT' : 'BROKEN'}  ${practice.name} (#${practice.id}): ${words.headline}`)
    for (const line of words.details) console.log(`        ${line}`)
    console.log(`        Chain head ${words.head}`)
  }
  console.log(`Practices verified: ${practices.length}; broken: ${broken}.`)
  process.exitCode = broken > 0 || unknown.length > 0 ? 1 : 0
} finally {
  await orm.close()
  await embedded?.stop()
}
