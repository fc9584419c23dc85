import type { EntityManager } from '@mikro-orm/core'
import type { Clock } from '../clock/clock.js'
import type { User } from '../users/user.entity.js'
import { findUserByEmail, practiceOfEmail } from '../users/user.service.js'
import { verifyAgainstDecoy, verifyPassword } from '../users/passwords.js'
import { scopeToPractice } from '../../db/practice-scope.js'
import { sqlIn } from '../../db/sql.js'

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

/** Advisory lock namespaces (the two-key form, apart from the jobs' single key): one lock per account, one per address. */
const ACCOUNT_GUESS_LOCK = 727_002
const ADDRESS_GUESS_LOCK = 727_003

interface Guess { email: string, ip: string, practiceGroupId: number | null, now: Date }

/**
 * Takes one guess from the account's and the address's allowance, recorded
 * as a failure until the password proves right, or answers null when either
 * allowance is spent. Counting and recording happen under both locks (always
 * account first, so two attempts never wait on each other crosswise), so
 * however many attempts arrive at once, no more than the allowance ever
 * reach the password check. The transaction ends before the slow check, so
 * waiting attempts hold a pooled connection only for milliseconds.
 */
async function reserveGuess (em: EntityManager, limits: SignInLimits, guess: Guess): Promise<number | null> {
  const since = new Date(guess.now.getTime() - limits.lockMinutes * 60_000)
  return em.transactional(async tx => {
    const sql = sqlIn(tx)
    await sql('select pg_advisory_xact_lock(?, hashtext(?))', [ACCOUNT_GUESS_LOCK, guess.email])
    await sql('select pg_advisory_xact_lock(?, hashtext(?))', [ADDRESS_GUESS_LOCK, guess.ip])
    const [failures] = await sql<{ account: string, address: string }>(
      `select count(*) filter (where email = ?) as account, count(*) filter (where ip = ?::inet) as address
       from sign_in_failures where (email = ? or ip = ?::inet) and occurred_at > ?`, [guess.email, guess.ip, guess.email, guess.ip, since])
    if (Number(failures?.account ?? 0) >= limits.maxFailuresPerAccount || Number(failures?.address ?? 0) >= limits.maxFailuresPerIp) return null
    const [reserved] = await sql<{ id: string }>(
      'insert into sign_in_failures (practice_group_id, email, ip, occurred_at) values (?, ?, ?::inet, ?) returning id',
      [guess.practiceGroupId, guess.email, guess.ip, guess.now])
    return Number(reserved!.id)
  })
}

/** The account an email signs in to, read within its practice, which the request now works for. */
async function findAccount (em: EntityManager, email: string): Promise<User | null> {
  const practice = await practiceOfEmail(em, email)
  if (practice === null) return null
  scopeToPractice(practice)
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
  const user = email ? await findAccount(em, email) : null
  const knownUser = user && !user.isSystem ? user : null

  const reservation = await reserveGuess(em, limits, { email: email.slice(0, 254), ip: attempt.ip, practiceGroupId: knownUser?.practiceGroupId ?? null, now: clock.now() })
  if (reservation === null) return { outcome: 'locked', knownUser }

  const passwordMatches = knownUser
    ? await verifyPassword(knownUser.passwordHash, attempt.password)
    : (await verifyAgainstDecoy(attempt.password), false)

  if (!knownUser || !passwordMatches) return { outcome: 'invalid', knownUser }
  if (!knownUser.active) {
    await em.getConnection().execute('delete from sign_in_failures where id = ?', [reservation])
    return { outcome: 'deactivated', user: knownUser }
  }

  await em.getConnection().execute('delete from sign_in_failures where email = ?', [email])
  return { outcome: 'signed-in', user: knownUser }
}
