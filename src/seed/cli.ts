import { loadConfig } from '../config.js'
import { migrate, openUnscopedOrm } from '../db/orm.js'
import { seedDemoIfEmpty } from './demo.js'

const config = loadConfig()
if (!config.DATABASE_URL) {
  console.error('Set DATABASE_URL to the database to load the demo data into (npm start loads it into the embedded database by itself).')
  process.exit(1)
}
await migrate(config.DATABASE_URL)
const orm = await openUnscopedOrm(config.DATABASE_URL)
const loaded = await seedDemoIfEmpty(orm)
await orm.close()
console.log(loaded ? 'Demo data loaded.' : 'The database already has practices; nothing was loaded.')
