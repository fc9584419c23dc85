/**
 * A session as its row was read: what it holds (its data and signed-in
 * rows, as JSON, so each reader gets its own copy) and who it belongs to.
 */
export interface SessionRead {
  json: string
  expiresAt: number
  userId: number | null
  practiceGroupId: number | null
}

interface Kept extends SessionRead {
  readAt: number
}

/** About 1.5 kB each: enough for every session active within a minute on one server. */
const KEPT_SESSIONS = 10_000
/** However reliable the change notices, nothing kept is used for longer than this. */
const KEPT_MILLISECONDS = 60_000

/**
 * The sessions this server has read, with their signed-in rows, used again
 * only while PostgreSQL's change notices are being received (`trust`): any
 * notice about a session or its practice forgets what was kept, and so
 * does losing the notices. A read that was under way when something was
 * forgotten is not kept, since it may have seen the row before the change.
 */
export class SessionCache {
  private readonly kept = new Map<string, Kept>()
  private trusted = false
  private generation = 0

  constructor (private readonly monotonicNow: () => number = () => performance.now()) {}

  /** The kept read of `sid`, if it is still good at `now` (the session's own clock). */
  lookup (sid: string, now: number): SessionRead | null {
    if (!this.trusted) return null
    const kept = this.kept.get(sid)
    if (!kept) return null
    if (kept.expiresAt <= now || this.monotonicNow() - kept.readAt > KEPT_MILLISECONDS) {
      this.kept.delete(sid)
      return null
    }
    return kept
  }

  /** Call before reading a session; pass the result to `keep`. */
  beginRead (): number {
    return this.generation
  }

  keep (sid: string, startedAt: number, read: SessionRead): void {
    if (!this.trusted || startedAt !== this.generation) return
    const now = this.monotonicNow()
    this.kept.delete(sid)
    this.kept.set(sid, { ...read, readAt: now })
    // Oldest first: drop what can no longer be used, and the oldest beyond the limit.
    for (const [oldSid, kept] of this.kept) {
      if (this.kept.size <= KEPT_SESSIONS && now - kept.readAt <= KEPT_MILLISECONDS) break
      this.kept.delete(oldSid)
    }
  }

  forgetSession (sid: string): void {
    this.generation++
    this.kept.delete(sid)
  }

  forgetPractice (practiceGroupId: number): void {
    this.generation++
    for (const [sid, kept] of this.kept) if (kept.practiceGroupId === practiceGroupId) this.kept.delete(sid)
  }

  forgetUser (userId: number): void {
    this.generation++
    for (const [sid, kept] of this.kept) if (kept.userId === userId) this.kept.delete(sid)
  }

  /** Notices are (again) being received: start from nothing, since some may have been missed. */
  trust (): void {
    this.forgetAll()
    this.trusted = true
  }

  distrust (): void {
    this.trusted = false
    this.forgetAll()
  }

  forgetAll (): void {
    this.generation++
    this.kept.clear()
  }
}
