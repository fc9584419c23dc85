import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import pg from 'pg'
import { APP_ROLE, KEEPER_ROLE } from './app-role.js'
import { readOrMakeOnce } from '../made-once.js'

export interface RoleUrls {
  /** Requests: one practice at a time. */
  app: string
  /** The sealer and the scheduled job. */
  keeper: string
}

interface RolePasswords { app: string, keeper: string }

const PASSWORDS_FILE = 'database-roles.json'

/**
 * The two roles' passwords, made once and kept under `dataDir` (readable
 * by this user only).
 */
export function rolePasswords (dataDir: string): RolePasswords {
  return JSON.parse(readOrMakeOnce(join(dataDir, PASSWORDS_FILE), () =>
    JSON.stringify({ app: randomBytes(24).toString('base64url'), keeper: randomBytes(24).toString('base64url') }))) as RolePasswords
}

function asRole (ownerUrl: string, role: string, password: string): string {
  const url = new URL(ownerUrl)
  url.username = role
  url.password = password
  return url.toString()
}

export function roleUrls (ownerUrl: string, passwords: RolePasswords): RoleUrls {
  return { app: asRole(ownerUrl, APP_ROLE, passwords.app), keeper: asRole(ownerUrl, KEEPER_ROLE, passwords.keeper) }
}

/** PostgreSQL refuses two ALTER ROLEs of one role at the same moment; the loser tries again. */
function concurrentlyUpdated (err: unknown): boolean {
  return /tuple concurrently (updated|deleted)/.test((err as Error).message)
}

/**
 * Lets the two roles log in with these passwords, creating them if this
 * cluster has none yet. Needs an owner allowed to manage roles; where the
 * roles are managed elsewhere, give APP_DATABASE_URL and
 * KEEPER_DATABASE_URL instead.
 */
export async function enableRoleLogins (ownerUrl: string, passwords: RolePasswords): Promise<void> {
  const owner = new pg.Client({ connectionString: ownerUrl })
  await owner.connect()
  try {
    for (const [role, password] of [[APP_ROLE, passwords.app], [KEEPER_ROLE, passwords.keeper]] as const) {
      for (let attempt = 0; ; attempt++) {
        try {
          await owner.query(`do $$ begin create role ${role} nologin; exception when duplicate_object or unique_violation then null; end $$`)
          await owner.query(`alter role ${role} login nosuperuser nocreatedb nocreaterole noinherit noreplication nobypassrls password ${owner.escapeLiteral(password)}`)
          break
        } catch (err) {
          if (attempt > 20 || !concurrentlyUpdated(err)) throw err
          await new Promise(resolve => setTimeout(resolve, 20 + Math.random() * 80))
        }
      }
    }
  } finally {
    await owner.end()
  }
}

/** The app's and the keeper's URLs: given in the configuration, or the owner's server with the roles' own passwords. */
export async function loginRoles (ownerUrl: string, dataDir: string, given: { app?: string, keeper?: string } = {}): Promise<RoleUrls> {
  if (given.app && given.keeper) return { app: given.app, keeper: given.keeper }
  const passwords = rolePasswords(dataDir)
  await enableRoleLogins(ownerUrl, passwords)
  return roleUrls(ownerUrl, passwords)
}
