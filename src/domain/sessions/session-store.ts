import type { MikroORM } from '@mikro-orm/core'
import type { Clock } from '../clock/clock.js'

type Callback<T = void> = (err?: unknown, result?: T) => void

interface StoredSession {
  userId?: number
  practiceGroupId?: number
}

/**
 * Keeps @fastify/session data in the `sessions` table so sign-ins survive a
 * restart and can be ended server-side. A row past its expiry is treated as
 * absent and removed by `pruneExpired`.
 */
export class PostgresSessionStore {
  constructor (private readonly orm: MikroORM, private readonly clock: Clock, private readonly idleMilliseconds: number) {}

  private get connection () {
    return this.orm.em.fork().getConnection()
  }

  /** Each save pushes the expiry forward: this is the idle timeout, measured by the injected clock. */
  private nextExpiry (): Date {
    return new Date(this.clock.now().getTime() + this.idleMilliseconds)
  }

  get (sid: string, callback: (err: unknown, result?: any) => void): void {
    this.connection
      .execute<{ data: StoredSession }[]>('select data from sessions where sid = ? and expires_at > ?', [sid, this.clock.now()])
      .then(rows => callback(null, rows[0]?.data ?? null), callback)
  }

  set (sid: string, session: StoredSession, callback: Callback): void {
    this.connection
      .execute(
        `insert into sessions (sid, practice_group_id, user_id, data, expires_at) values (?, ?, ?, ?, ?)
         on conflict (sid) do update set practice_group_id = excluded.practice_group_id, user_id = excluded.user_id,
           data = excluded.data, expires_at = excluded.expires_at`,
        [sid, session.practiceGroupId ?? null, session.userId ?? null, JSON.stringify(session), this.nextExpiry()]
      )
      .then(() => callback(), callback)
  }

  destroy (sid: string, callback: Callback): void {
    this.connection.execute('delete from sessions where sid = ?', [sid]).then(() => callback(), callback)
  }

  async pruneExpired (): Promise<number> {
    const result = await this.connection.execute<{ affectedRows: number }>('delete from sessions where expires_at <= ?', [this.clock.now()], 'run')
    return result.affectedRows
  }

  async endSessionsOf (userId: number): Promise<void> {
    await this.connection.execute('delete from sessions where user_id = ?', [userId], 'run')
  }
}
