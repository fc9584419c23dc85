import type { EntityManager } from '@mikro-orm/core'
import { UserFacingError } from '../errors.js'
import { GroupCommit, type BatchObserver } from './group-commit.js'
import { currentPractice, hasPracticeScope } from '../../db/practice-scope.js'
import type { RecordedEvent, Actor } from '../audit-records/record.js'
import { insertRows, insertRowsOfPractices, MAX_ROWS_TOGETHER, rowOf, type Connection, type RecordRow } from '../audit-records/writes.js'

export class NotRecordedError extends UserFacingError {
  constructor (readonly cause: unknown) {
    super(503, 'This could not be recorded in the User Action History, so it was not done. Please try again in a moment.')
  }
}

const groupCommits = new WeakMap<Connection, GroupCommit<RecordRow>>()
const batchObservers = new WeakMap<Connection, Set<BatchObserver>>()

function groupCommitFor (connection: Connection): GroupCommit<RecordRow> {
  let group = groupCommits.get(connection)
  if (!group) {
    const observe: BatchObserver = (...batch) => { for (const observer of batchObservers.get(connection) ?? []) observer(...batch) }
    group = new GroupCommit(rows => insertRowsOfPractices(connection, rows), MAX_ROWS_TOGETHER, observe)
    groupCommits.set(connection, group)
  }
  return group
}

/** Resolves once the records these connections are writing together are committed or have failed: before their pool is closed. */
export async function recordsSettled (em: EntityManager): Promise<void> {
  await groupCommits.get(em.getConnection())?.settled()
}

/**
 * Tells `observer` about every batch that group commit writes on this
 * connection from now on, until the returned function is called. The
 * connection's owner watches; the recorder knows nothing of what it does.
 */
export function observeBatches (connection: Connection, observer: BatchObserver): () => void {
  let observers = batchObservers.get(connection)
  if (!observers) batchObservers.set(connection, observers = new Set())
  observers.add(observer)
  return () => { observers.delete(observer) }
}

/**
 * Appends one record to the User Action History. Inside a transaction it is
 * written with the change it describes, so if either fails, neither is kept.
 * Outside one (a page view, a sign-in) it is committed together with the
 * records other requests are writing at the same moment; either way the
 * promise resolves only once this record is committed.
 */
export async function recordEvent (em: EntityManager, actor: Actor, event: RecordedEvent): Promise<void> {
  const row = rowOf(actor, event)
  const transaction = em.getTransactionContext()
  try {
    // Group commit writes each practice's rows in that practice's scope, so it must only take rows of the caller's own.
    if (hasPracticeScope() && currentPractice() !== actor.practiceGroupId) throw new Error(`a record for practice ${actor.practiceGroupId} from work scoped to another`)
    if (transaction) await insertRows(em.getConnection(), [row], transaction)
    else await groupCommitFor(em.getConnection()).add(row)
  } catch (err) {
    throw new NotRecordedError(err)
  }
}
