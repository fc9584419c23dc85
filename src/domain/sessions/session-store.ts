import type { MikroORM } from '@mikro-orm/core'
import type { Clock } from '../clock/clock.js'
import { signedInColumns, type SignedInRows } from '../users/signed-in.js'
import type { SessionCache, SessionRead } from './session-cache.js'
import { hasPracticeScope, scopeToPractice } from '../../db/practice-scope.js'

/**
 * A session names the practice of the request that presents it; it is
 * learnt through a database function that answers only that, since until
 * then the request sees no practice's rows. Outside a request (tools,
 * tests) there is no scope to set.
 */
function scopeRequestToPractice (practiceGroupId: number | null): void {
  if (hasPracticeScope()) scopeToPractice(practiceGroupId)
}

type Callback<T = void> = (err?: unknown, result?: T) => void

interface Log {
  error: (details: object, message: string) => void
}

interface StoredSession {
  userId?: number
  practiceGroupId?: number
}

/** A session whose data is unchanged is written again only when its expiry would move by at least this much. */
const EXPIRY_SLACK_MS = 60_000
const REMEMBERED_SESSIONS = 50_000
/** Signed-in rows wait here only until their request's auth hook takes them; this bounds what an aborted request leaves. */
const WAITING_SIGNED_IN = 1_000

type SessionRow = SignedInRows & { data: StoredSession, expires_at: Date, user_id: number | null, practice_group_id: number | null }

/**
 * Keeps @fastify/session data in the `sessions` table so sign-ins survive a
 * restart and can be ended server-side. A row past its expiry is treated as
 * absent and removed by `pruneExpired`. The session is saved after every
 * request (it rolls); an unchanged session is rewritten at most once a
 * minute, so the idle timeout holds to within a minute and most page views
 * cost no write. Reading a session also reads who it belongs to (see
 * `takeSignedIn`), and the read is kept in a SessionCache while change
 * notices arrive, so a signed-in request usually starts with no round trip.
 */
export class PostgresSessionStore {
  private readonly lastWritten = new Map<string, { data: string, expiresAt: number }>()
  private readonly signedIn = new Map<string, { userId: number, practiceGroupId: number, rows: SignedInRows }>()

  constructor (
    private readonly orm: MikroORM,
    private readonly clock: Clock,
    private readonly idleMilliseconds: number,
    private readonly cache: SessionCache,
    private readonly log: Log
  ) {}

  /**
   * Hands the outcome of `work` to @fastify/session exactly once. The
   * callback goes on to run the rest of the request, so a throw from it is
   * not the store's failure: it is logged, never passed back to the callback
   * a second time nor left as a rejection that would end the process.
   */
  private answer<T> (work: Promise<T>, callback: Callback<T>): void {
    const deliver = (err: unknown, result?: T): void => {
      try {
        callback(err, result)
      } catch (thrown) {
        this.log.error({ err: thrown }, 'the request went on to fail after the session store answered')
      }
    }
    work.then(result => deliver(null, result), deliver)
  }

  private remember (sid: string, data: string, expiresAt: number): void {
    this.lastWritten.delete(sid)
    this.lastWritten.set(sid, { data, expiresAt })
    if (this.lastWritten.size > REMEMBERED_SESSIONS) this.lastWritten.delete(this.lastWritten.keys().next().value!)
  }

  /** The session without its cookie, whose expiry changes with every request. */
  private static content (session: object): string {
    const { cookie: _cookie, ...content } = session as { cookie?: unknown }
    return JSON.stringify(content)
  }

  /** Raw statements need no unit of work, so no fork: a fork costs a page view as much as the query. */
  private get connection () {
    return this.orm.em.getConnection()
  }

  /** Each save pushes the expiry forward: this is the idle timeout, measured by the injected clock. */
  private nextExpiry (): Date {
    return new Date(this.clock.now().getTime() + this.idleMilliseconds)
  }

  get (sid: string, callback: (err: unknown, result?: any) => void): void {
    const kept = this.cache.lookup(sid, this.clock.now().getTime())
    if (kept) {
      scopeRequestToPractice(kept.practiceGroupId)
      callback(null, this.handOut(sid, kept))
      return
    }
    this.answer(this.read(sid), callback)
  }

  private async read (sid: string): Promise<StoredSession | null> {
    const startedAt = this.cache.beginRead()
    const [found] = await this.connection.execute<Array<{ practice: number | null }>>('select practice_of_session(?) as practice', [sid])
    scopeRequestToPractice(found?.practice ?? null)
    const [row] = await this.connection.execute<SessionRow[]>(
      `select session.data, session.expires_at, session.user_id, session.practice_group_id, ${signedInColumns('session')}
         from sessions session where session.sid = ? and session.expires_at > ?`,
      [sid, this.clock.now()]
    )
    if (!row) {
      scopeRequestToPractice(null)
      this.signedIn.delete(sid)
      this.lastWritten.delete(sid)
      return null
    }
    const read: SessionRead = {
      json: JSON.stringify({ data: row.data, rows: { user: row.user, practice: row.practice, subscription: row.subscription } }),
      expiresAt: new Date(row.expires_at).getTime(),
      userId: row.user_id,
      practiceGroupId: row.practice_group_id
    }
    this.remember(sid, PostgresSessionStore.content(row.data), read.expiresAt)
    this.cache.keep(sid, startedAt, read)
    return this.handOut(sid, read)
  }

  /** The session's data for @fastify/session; its signed-in rows wait for the auth hook. Each call makes fresh copies. */
  private handOut (sid: string, read: SessionRead): StoredSession {
    const { data, rows } = JSON.parse(read.json) as { data: StoredSession, rows: SignedInRows }
    this.signedIn.delete(sid)
    if (read.userId !== null && read.practiceGroupId !== null) {
      if (this.signedIn.size >= WAITING_SIGNED_IN) this.signedIn.clear()
      this.signedIn.set(sid, { userId: read.userId, practiceGroupId: read.practiceGroupId, rows })
    }
    return data
  }

  /**
   * The user, practice and subscription rows read with session `sid`, if
   * they are for this user and practice; each is handed out once, to the
   * request that read the session.
   */
  takeSignedIn (sid: string, userId: number, practiceGroupId: number): SignedInRows | null {
    const waiting = this.signedIn.get(sid)
    this.signedIn.delete(sid)
    return waiting && waiting.userId === userId && waiting.practiceGroupId === practiceGroupId ? waiting.rows : null
  }

  set (sid: string, session: StoredSession, callback: Callback): void {
    const content = PostgresSessionStore.content(session)
    const expiresAt = this.nextExpiry()
    const last = this.lastWritten.get(sid)
    if (last && last.data === content && expiresAt.getTime() - last.expiresAt < EXPIRY_SLACK_MS) {
      callback()
      return
    }
    this.answer(this.write(sid, session, content, expiresAt), callback)
  }

  private async write (sid: string, session: StoredSession, content: string, expiresAt: Date): Promise<void> {
    await this.connection.execute(
      `insert into sessions (sid, practice_group_id, user_id, data, expires_at) values (?, ?, ?, ?, ?)
       on conflict (sid) do update set practice_group_id = excluded.practice_group_id, user_id = excluded.user_id,
         data = excluded.data, expires_at = excluded.expires_at`,
      [sid, session.practiceGroupId ?? null, session.userId ?? null, JSON.stringify(session), expiresAt]
    )
    this.cache.forgetSession(sid)
    this.remember(sid, content, expiresAt.getTime())
  }

  destroy (sid: string, callback: Callback): void {
    this.lastWritten.delete(sid)
    this.signedIn.delete(sid)
    this.answer(this.remove(sid), callback)
  }

  private async remove (sid: string): Promise<void> {
    await this.connection.execute('delete from sessions where sid = ?', [sid])
    this.cache.forgetSession(sid)
  }

  async pruneExpired (): Promise<number> {
    const result = await this.connection.execute<{ affectedRows: number }>('delete from sessions where expires_at <= ?', [this.clock.now()], 'run')
    return result.affectedRows
  }

  async endSessionsOf (userId: number): Promise<void> {
    await this.connection.execute('delete from sessions where user_id = ?', [userId], 'run')
    this.cache.forgetUser(userId)
  }
}
