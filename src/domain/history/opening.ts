/** When this session's opening of each history was recorded (ms since the epoch), by the history's address. */
export type OpenedHistories = Record<string, number>

/** A request that opens a history, or one that refines a history already open (htmx, or a back/forward restore). */
export type HistoryRequestKind = 'opening' | 'refinement'

export type OpeningDecision =
  | { record: false }
  | { record: true, remember: OpenedHistories }

const REMEMBERED_HISTORIES = 20
const REFINING_WINDOW_MS = 30 * 60_000

/**
 * Sorting, filtering and paging happen inside a history that is already on
 * record, so only its opening is recorded. A refinement of a history this
 * session has not opened in the last 30 minutes is recorded like an
 * opening. Once recorded, the session remembers this opening and the most
 * recent others, up to 20.
 */
export function historyOpening (opened: OpenedHistories, history: string, kind: HistoryRequestKind, now: Date): OpeningDecision {
  const openedAt = opened[history]
  if (kind === 'refinement' && openedAt !== undefined && now.getTime() - openedAt < REFINING_WINDOW_MS) return { record: false }
  const kept = Object.entries(opened).filter(([path]) => path !== history).sort((a, b) => b[1] - a[1]).slice(0, REMEMBERED_HISTORIES - 1)
  return { record: true, remember: Object.fromEntries([[history, now.getTime()], ...kept]) }
}
