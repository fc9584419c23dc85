import type { EntityManager } from '@mikro-orm/core'
import { User } from '../users/user.entity.js'
import type { FilterChoices } from './history-criteria.js'
import type { HistoryCriteria } from '../audit-records/criteria.js'
import type { HistoryScope } from './access.js'
import { countVisible, readVisiblePage, visiblePageNames, type HistoryRow } from '../audit-records/reads.js'
import { countMatching, readMatchingPage, readerOf, sampleShare } from '../audit-records/text-search.js'
import { searchesText, type HistorySubject } from '../audit-records/visible.js'

export type { HistorySubject } from '../audit-records/visible.js'
export type { HistoryRow } from '../audit-records/reads.js'

/**
 * Counting stops here. Beyond it an exact number costs a pass over the
 * practice's history (seconds for the largest) and tells a person little
 * more than "more than 10,000".
 */
export const COUNT_LIMIT = 10_000

/**
 * Counting stops sooner when the description or URL must contain a text:
 * each row is tested as it is read, and a common word's first 1,000
 * matches are found in milliseconds where its 10,000th is not.
 */
export const TEXT_COUNT_LIMIT = 1_000

export interface HistoryPage {
  rows: HistoryRow[]
  /** How many rows match: exact up to the counting limit (COUNT_LIMIT, or TEXT_COUNT_LIMIT under a text filter), otherwise that limit and `totalIsExact` false. */
  total: number
  totalIsExact: boolean
  /** The page shown, or null for the last page of a list too long to count. */
  page: number | null
  /** How many pages there are, when the total is exact. */
  pages: number | null
  size: number
  hasNext: boolean
  /** The page asked for lay past the last one, so the last one is shown. */
  requestedPage: number | null
}

/**
 * One page of the history as this viewer may see it, with the total that
 * matches. Up to the counting limit the total and the pages are exact;
 * past it, pages are still reached by number, and the last page is read
 * from the other end.
 */
export async function searchHistory (em: EntityManager, scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria): Promise<HistoryPage> {
  const text = searchesText(criteria)
  const reader = readerOf(em)
  const share = text ? await sampleShare(reader, scope, subject, criteria) : 0
  const limit = text ? TEXT_COUNT_LIMIT : COUNT_LIMIT
  const counting = text ? countMatching(reader, scope, subject, criteria, limit, share) : countVisible(em, scope, subject, criteria, limit)
  counting.catch(() => {})
  const read = (page: number | 'last'): Promise<HistoryRow[]> => text
    ? readMatchingPage(reader, scope, subject, criteria, page, share, limit, counting)
    : readVisiblePage(em, scope, subject, criteria, page)
  const size = criteria.size
  const asked = criteria.lastPage ? null : criteria.page
  // The page asked for is read while counting, on a second connection: almost always it exists, and the reply comes a round trip sooner.
  const askedRows = asked === null ? null : read(asked)
  askedRows?.catch(() => {})
  const count = await counting
  if (count <= limit) {
    const pages = Math.max(1, Math.ceil(count / size))
    const page = asked === null ? pages : Math.min(asked, pages)
    const rows = page === asked ? await askedRows! : await read(page)
    return { rows, total: count, totalIsExact: true, page, pages, size, hasNext: page < pages, requestedPage: asked !== null && asked > pages ? asked : null }
  }
  if (asked !== null) {
    const rows = await askedRows!
    if (rows.length > 0) return { rows, total: limit, totalIsExact: false, page: asked, pages: null, size, hasNext: rows.length === size, requestedPage: null }
  }
  return { rows: await read('last'), total: limit, totalIsExact: false, page: null, pages: null, size, hasNext: false, requestedPage: asked }
}

const CHOICES_TTL_MS = 60_000
const cachedChoices = new Map<string, { choices: FilterChoices, until: number }>()

/**
 * The users and page names a viewer can filter by: only names from rows
 * the viewer may see. Page names change rarely, so each viewer's list is
 * kept for a minute of the app's clock rather than looked up on every
 * refinement.
 */
export async function filterChoices (em: EntityManager, scope: HistoryScope, now: Date): Promise<FilterChoices> {
  const key = `${scope.practiceGroupId}:${scope.onlyUserId ?? 'all'}:${scope.window.since.toISOString().slice(0, 13)}`
  const cached = cachedChoices.get(key)
  // A list made at a later time than `now` (a clock set back) is not trusted either.
  if (cached && cached.until > now.getTime() && cached.until - CHOICES_TTL_MS <= now.getTime()) return cached.choices
  const users = await em.find(User, scope.onlyUserId === null
    ? { practiceGroupId: scope.practiceGroupId }
    : { practiceGroupId: scope.practiceGroupId, id: scope.onlyUserId }, { fields: ['id', 'name'], orderBy: { name: 'asc', id: 'asc' } })
  const choices = { users: users.map(u => ({ id: u.id, name: u.name })), pages: await visiblePageNames(em, scope) }
  if (cachedChoices.size > 10_000) cachedChoices.clear()
  cachedChoices.set(key, { choices, until: now.getTime() + CHOICES_TTL_MS })
  return choices
}
