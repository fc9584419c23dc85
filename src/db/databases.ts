import pg from 'pg'

function withDatabase (url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

const SAFE_NAME = /^[a-z_][a-z0-9_]{0,62}$/

/** Creates `database` on the server behind `serverUrl` unless it exists, and returns its URL. */
export async function ensureDatabase (serverUrl: string, database: string): Promise<string> {
  if (!SAFE_NAME.test(database)) throw new Error(`Unsafe database name: ${database}`)
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    const existing = await client.query('select 1 from pg_database where datname = $1', [database])
    if (existing.rowCount === 0) await client.query(`create database ${database}`)
  } finally {
    await client.end()
  }
  return withDatabase(serverUrl, database)
}

export async function dropDatabase (serverUrl: string, database: string): Promise<void> {
  if (!SAFE_NAME.test(database)) throw new Error(`Unsafe database name: ${database}`)
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    await client.query(`drop database if exists ${database} with (force)`)
  } finally {
    await client.end()
  }
}

/** Connects to `url` and asks one question, so a wrong address, login or database name is found before anything else is tried. */
export async function assertAnswers (url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 })
  try {
    await client.connect()
    await client.query('select 1')
  } finally {
    await client.end().catch(() => undefined)
  }
}
