import type { EntityManager } from '@mikro-orm/core'
import type { Clock } from '../clock/clock.js'
import type { User } from '../users/user.entity.js'
import { findUserByEmail } from '../users/user.service.js'
import { verifyAgainstDecoy, verifyPassword } from '../users/passwords.js'
import { scopeToPractice } from '../../db/practice-scope.js'

export interface SignInLimits {
  maxFailuresPerAccount: number
  maxFailuresPerIp: number
  lockMinutes: number
}

export type SignInResult =
  | { outcome: 'signed-in', user: User }
  | { outcome: 'invalid', knownUser: User | null }
  | { outcome: 'deactivated', user: User }
  | { outcome: 'locked', knownUser: User | null }

async function recentFailures (em: EntityManager, email: string, ip: string, since: Date): Promise<{ account: number, address: number }> {
  const rows = await em.getConnection().execute<{ account: string, address: string }[]>(
    `select count(*) filter (where email = ?) as account, count(*) filter (where ip = ?::inet) as address
     from sign_in_failures where (email = ? or ip = ?::inet) and occurred_at > ?`, [email, ip, email, ip, since])
  return { account: Number(rows[0]?.account ?? 0), address: Number(rows[0]?.address ?? 0) }
}

/**
 * The account an email signs in to. Until it is known the request sees no
 * practice's rows, so the one narrow question "which practice has this
 * address?" is answered by a database function; the account itself is
 * then read within that practice.
 */
async function findAccount (em: EntityManager, email: string): Promise<User | null> {
  const [row] = await em.getConnection().execute<{ practice: number | null }[]>('select practice_of_email(?) as practice', [email])
  if (row?.practice == null) return null
  scopeToPractice(row.practice)
  return findUserByEmail(em, email)
}

/**
 * Checks a sign-in attempt. Repeated failures lock the account's sign-in,
 * and, at a higher threshold, the address's, for `lockMinutes`; the lock
 * is checked before the password so a locked account cannot be probed.
 */
export async function attemptSignIn (
  em: EntityManager, clock: Clock, limits: SignInLimits,
  attempt: { email: string, password: string, ip: string }
): Promise<SignInResult> {
  const email = attempt.email.trim().toLowerCase()
  const now = clock.now()
  const since = new Date(now.getTime() - limits.lockMinutes * 60_000)
  const user = email ? await findAccount(em, email) : null
  const knownUser = user && !user.isSystem ? user : null

  const failures = await recentFailures(em, email, attempt.ip, since)
  if (failures.account >= limits.maxFailuresPerAccount || failures.address >= limits.maxFailuresPerIp) return { outcome: 'locked', knownUser }

  const passwordMatches = knownUser
    ? await verifyPassword(knownUser.passwordHash, attempt.password)
    : (await verifyAgainstDecoy(attempt.password), false)

  if (!knownUser || !passwordMatches) {
    await em.getConnection().execute(
      'insert into sign_in_failures (practice_group_id, email, ip, occurred_at) values (?, ?, ?::inet, ?)',
      [knownUser?.practiceGroupId ?? null, email.slice(0, 254), attempt.ip, now])
    return { outcome: 'invalid', knownUser }
  }
  if (!knownUser.active) return { outcome: 'deactivated', user: knownUser }

  await em.getConnection().execute('delete from sign_in_failures where email = ?', [email])
  return { outcome: 'signed-in', user: knownUser }
}
