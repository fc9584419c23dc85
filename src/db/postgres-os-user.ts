import { spawnSync } from 'node:child_process'
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, renameSync, rmSync, rmdirSync, statSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { StartUpError } from '../start-up-error.js'

/** The OS user PostgreSQL runs as when we are root: it refuses to run as root itself. */
export interface OsUser { name: string, uid: number, gid: number }

/** Where the embedded PostgreSQL's binaries and cluster are, and whether they had to be put there for the postgres OS user. */
export interface Placement {
  binDir: string
  dataDir: string
  /** The binaries were copied out of node_modules, which that user cannot reach. */
  copiedBinaries: boolean
  /** The cluster lives outside DATA_DIR, which that user cannot reach; this link inside it points there. */
  linkedFrom?: string
}

const NAME = 'postgres'

function idOf (flag: '-u' | '-g'): number | null {
  const found = spawnSync('id', [flag, NAME], { encoding: 'utf8' })
  return found.status === 0 ? Number(found.stdout.trim()) : null
}

/** The postgres OS user, created (as a system user without a home) where it does not exist yet. */
export function postgresOsUser (): OsUser {
  if (idOf('-u') === null) {
    const made = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', NAME], { encoding: 'utf8' })
    if (made.status !== 0) {
      throw new StartUpError(`running as root, the embedded PostgreSQL must run as the ${NAME} OS user, which does not exist and could not be created ` +
        `(${(made.stderr || made.error?.message || '').trim()}). Create it, run as another user, or set DATABASE_URL`)
    }
  }
  return { name: NAME, uid: idOf('-u')!, gid: idOf('-g')! }
}

/** Whether `user` may open `path` in these ways, asked of the system as that user (modes, ACLs and every parent directory count). */
function userMay (user: OsUser, path: string, tests: string[]): boolean {
  const script = tests.map(test => `test ${test} "$1"`).join(' && ')
  return spawnSync('sh', ['-c', script, 'sh', path], { uid: user.uid, gid: user.gid, cwd: '/' }).status === 0
}

function isEmptyDirectory (path: string): boolean {
  return statSync(path).isDirectory() && readdirSync(path).length === 0
}

/**
 * A root-owned directory that nobody else may write, made reachable by
 * everyone: what is placed there for the postgres user is safe to run
 * because only root could have put it there.
 */
function preparePlace (user: OsUser, placeDir: string): void {
  try {
    if (mkdirSync(placeDir, { recursive: true })) chmodSync(placeDir, 0o755)
  } catch (err) {
    throw new StartUpError(`EMBEDDED_PG_DIR ${placeDir} cannot be made (${(err as Error).message}). Set EMBEDDED_PG_DIR to another directory, or set DATABASE_URL`)
  }
  const place = statSync(placeDir)
  if (place.uid !== 0 || (place.mode & 0o022) !== 0) {
    throw new StartUpError(`EMBEDDED_PG_DIR ${placeDir} must be owned by root and writable by nobody else, since programs placed there run as the ${user.name} OS user`)
  }
  if (!userMay(user, placeDir, ['-x'])) {
    throw new StartUpError(`the ${user.name} OS user cannot reach EMBEDDED_PG_DIR ${placeDir}: one of its parent directories is private. Set EMBEDDED_PG_DIR to a directory it can reach, or set DATABASE_URL`)
  }
}

/** The binaries, copied once per version into the place: copied whole beside it first, so a copy cut short is never used. */
function copyBinaries (nativeDir: string, version: string, placeDir: string): string {
  const target = join(placeDir, `postgresql-${version}`)
  if (existsSync(join(target, 'bin', 'postgres'))) return target
  const draft = mkdtempSync(join(placeDir, '.postgresql-'))
  try {
    cpSync(nativeDir, draft, { recursive: true, verbatimSymlinks: true })
    chmodSync(draft, 0o755)
    renameSync(draft, target)
  } catch (err) {
    rmSync(draft, { recursive: true, force: true })
    // Another instance starting at the same moment placed its copy first.
    if (!existsSync(join(target, 'bin', 'postgres'))) throw err
  }
  return target
}

/**
 * The cluster's directory, owned by the postgres user. Where that user
 * cannot reach it (a parent is private, like a home directory), an empty
 * one is replaced by a link to a new directory in the place, so the
 * operator still finds the cluster under DATA_DIR and every later start
 * follows the link.
 */
function placeCluster (user: OsUser, dataDir: string, placeDir: string): { dataDir: string, linkedFrom?: string } {
  mkdirSync(dataDir, { recursive: true })
  const linked = lstatSync(dataDir).isSymbolicLink()
  const fresh = isEmptyDirectory(dataDir)
  if (fresh && !linked) chownSync(dataDir, user.uid, user.gid)
  const real = realpathSync(dataDir)
  if (userMay(user, real, ['-r', '-w', '-x'])) return { dataDir: real, ...(linked ? { linkedFrom: dataDir } : {}) }
  if (!fresh) {
    throw new StartUpError(`the embedded PostgreSQL's data in ${dataDir} cannot be reached by the ${user.name} OS user (a parent directory is private or it belongs to another user). ` +
      'Move DATA_DIR somewhere that user can reach, or set DATABASE_URL')
  }
  preparePlace(user, placeDir)
  const placed = mkdtempSync(join(placeDir, 'cluster-'))
  chownSync(placed, user.uid, user.gid)
  rmdirSync(dataDir)
  symlinkSync(placed, dataDir)
  return { dataDir: placed, linkedFrom: dataDir }
}

/**
 * Where the postgres OS user can run the binaries and keep the cluster:
 * where they are when it can reach them, else copies and a new cluster
 * directory in `placeDir` (EMBEDDED_PG_DIR).
 */
export function placeForPostgresUser (user: OsUser, binaries: { nativeDir: string, version: string }, dataDir: string, placeDir: string): Placement {
  let binDir = binaries.nativeDir
  const copiedBinaries = !userMay(user, join(binDir, 'bin', 'initdb'), ['-x'])
  if (copiedBinaries) {
    preparePlace(user, placeDir)
    binDir = copyBinaries(binaries.nativeDir, binaries.version, placeDir)
  }
  return { binDir, copiedBinaries, ...placeCluster(user, dataDir, placeDir) }
}
