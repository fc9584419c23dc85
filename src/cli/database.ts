import { join } from 'node:path'
import type { Config } from '../config.js'
import { ensureDatabase } from '../db/databases.js'
import { embeddedDatabaseUrl, PortBusyError, startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded-postgres.js'

/** DATABASE_URL, or the embedded cluster: the one `npm start` is running, else started here. */
export async function cliDatabase (config: Config): Promise<{ url: string, embedded?: EmbeddedDatabase }> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL }
  try {
    const embedded = await startEmbeddedPostgres(join(config.DATA_DIR, 'postgres'), config.EMBEDDED_PG_PORT, { placeDir: config.EMBEDDED_PG_DIR })
    return { url: await ensureDatabase(embedded.url, 'practice_audit'), embedded }
  } catch (err) {
    if (err instanceof PortBusyError) return { url: embeddedDatabaseUrl(config.EMBEDDED_PG_PORT, 'practice_audit') }
    throw err
  }
}

/**
 * Ends a command with its own exit code at once, so nothing left open (a
 * pool's idle connection, the output of a cluster started for it) keeps
 * the command running after it has said its result.
 */
export function endProcess (code: number): never {
  process.exit(code)
}
