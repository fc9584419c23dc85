import { randomUUID } from 'node:crypto'
import pg from 'pg'
import type { SessionCache } from './session-cache.js'

/** The channel the change triggers notify (see the signed-in changes migration). */
const SIGNED_IN_CHANNEL = 'signed_in_changes'
/** How the listening connection shows in pg_stat_activity. */
export const LISTENER_APPLICATION_NAME = 'practice-audit session notices'
const RECONNECT_MILLISECONDS = 1_000

interface Log {
  warn: (details: object, message: string) => void
}

/**
 * Holds one connection that LISTENs for session and practice change
 * notices and applies them to a SessionCache. The cache is trusted only
 * while this connection is listening; when it drops, every session is read
 * from the database again until it is back.
 */
export class SignedInChangeListener {
  private client: pg.Client | null = null
  private stopped = false
  private reconnect: NodeJS.Timeout | null = null
  private readonly gone = new WeakSet<pg.Client>()
  private readonly waiting = new Map<string, () => void>()

  constructor (private readonly connectionString: string, private readonly cache: SessionCache, private readonly log: Log) {}

  get listening (): boolean {
    return this.client !== null
  }

  async start (): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString, application_name: LISTENER_APPLICATION_NAME })
    client.on('notification', notice => this.apply(notice.payload ?? ''))
    client.on('error', err => this.lost(client, err))
    client.on('end', () => this.lost(client, new Error('connection ended')))
    try {
      await client.connect()
      await client.query(`listen ${SIGNED_IN_CHANNEL}`)
    } catch (err) {
      this.lost(client, err)
      return
    }
    if (this.stopped || this.gone.has(client)) {
      await client.end().catch(() => undefined)
      return
    }
    this.client = client
    this.cache.trust()
  }

  async stop (): Promise<void> {
    this.stopped = true
    if (this.reconnect) clearTimeout(this.reconnect)
    this.cache.distrust()
    const client = this.client
    this.client = null
    if (client) {
      this.gone.add(client)
      await client.end().catch(() => undefined)
    }
    this.releaseWaiting()
  }

  /**
   * Resolves once every change committed before the call has reached this
   * server: for whoever changes the database directly and then needs this
   * server to act on it. Notices arrive in commit order, so a notice of our
   * own, sent after those changes, arrives after theirs.
   */
  async caughtUp (): Promise<void> {
    const client = this.client
    if (!client) return
    const token = `sync:${randomUUID()}`
    const arrived = new Promise<void>(resolve => this.waiting.set(token, resolve))
    try {
      await client.query('select pg_notify($1, $2)', [SIGNED_IN_CHANNEL, token])
    } catch {
      this.waiting.delete(token)
      this.cache.forgetAll()
      return
    }
    await arrived
  }

  private apply (notice: string): void {
    const [kind, ...rest] = notice.split(':')
    const subject = rest.join(':')
    if (kind === 'session') this.cache.forgetSession(subject)
    else if (kind === 'practice') this.cache.forgetPractice(Number(subject))
    else if (kind === 'sync') this.settle(notice)
    else this.cache.forgetAll()
  }

  private settle (token: string): void {
    const resolve = this.waiting.get(token)
    this.waiting.delete(token)
    resolve?.()
  }

  /** Without a listening connection nothing is kept, so whoever waits for notices need not. */
  private releaseWaiting (): void {
    for (const resolve of this.waiting.values()) resolve()
    this.waiting.clear()
  }

  private lost (client: pg.Client, err: unknown): void {
    if (this.gone.has(client)) return
    this.gone.add(client)
    if (this.client === client) this.client = null
    this.cache.distrust()
    this.releaseWaiting()
    client.end().catch(() => undefined)
    if (this.stopped) return
    this.log.warn({ err }, 'session change notices lost: every session is read from the database until they are back')
    this.reconnect = setTimeout(() => { this.reconnect = null; void this.start() }, RECONNECT_MILLISECONDS)
    this.reconnect.unref()
  }
}
