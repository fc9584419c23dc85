import { AsyncLocalStorage } from 'node:async_hooks'

/** The practice whose rows the current piece of work may touch; null: none. */
interface Scope { practiceGroupId: number | null }

const scopes = new AsyncLocalStorage<Scope>()

/**
 * Runs `work` with a scope of its own: what it and everything it starts
 * send to PostgreSQL sees the rows of `practiceGroupId` only (row-level
 * security reads `app.practice_id`), or none at all when it is null.
 */
export function inPracticeScope<T> (practiceGroupId: number | null, work: () => T): T {
  return scopes.run({ practiceGroupId }, work)
}

/**
 * Moves the current scope to another practice, for work that learns its
 * practice on the way (a request, once it knows who is signed in).
 */
export function scopeToPractice (practiceGroupId: number | null): void {
  const scope = scopes.getStore()
  if (!scope) throw new Error('No practice scope to set: run this inside inPracticeScope')
  scope.practiceGroupId = practiceGroupId
}

export function hasPracticeScope (): boolean {
  return scopes.getStore() !== undefined
}

export function currentPractice (): number | null {
  return scopes.getStore()?.practiceGroupId ?? null
}

type Callback = (...args: unknown[]) => void
interface ScopedClient {
  query: (...args: unknown[]) => unknown
  scopedTo?: string
}

const SET_SCOPE = "select set_config('app.practice_id', $1, false)"
const ROLLBACK = /^\s*rollback\b/i

function queryText (first: unknown): string {
  if (typeof first === 'string') return first
  return typeof (first as { text?: unknown } | null)?.text === 'string' ? (first as { text: string }).text : ''
}

/**
 * Makes every statement sent on this pooled connection run in the practice
 * scope of the code that sends it. The setting is sent ahead of a statement
 * only when the connection was last scoped to another practice, queued on
 * the same connection so the two go back to back. A rollback may undo a
 * setting made inside its transaction, so after one the next statement
 * sets it again.
 */
export function scopeEveryStatement (client: ScopedClient): void {
  const send = client.query.bind(client)
  client.query = (...args: unknown[]) => {
    const wanted = String(currentPractice() ?? '')
    if (client.scopedTo !== wanted) {
      client.scopedTo = wanted
      send(SET_SCOPE, [wanted], ((err: unknown) => { if (err) client.scopedTo = undefined }) as Callback)
    }
    if (ROLLBACK.test(queryText(args[0]))) client.scopedTo = undefined
    return send(...args)
  }
}
