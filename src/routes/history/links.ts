import { DEFAULT_PAGE_SIZE, type HistoryParams, type ParamName } from '../../domain/history/history-params.js'
import type { Column } from '../../domain/audit-records/criteria.js'

/** Parameters in the order a history's links carry them, so one view always has one address. */
const ORDER: ParamName[] = ['range', 'from', 'to', 'user', 'action', 'pageName', 'id', 'description', 'url', 'ip', 'sort', 'dir', 'size', 'page']

export const NO_FILTERS: Partial<HistoryParams> = {
  range: '', from: '', to: '', user: [], action: [], pageName: '', id: '', description: '', url: '', ip: ''
}

export function isEmptyParam (params: HistoryParams, name: ParamName): boolean {
  const value = params[name]
  return Array.isArray(value) ? value.length === 0 : value.trim() === ''
}

/** Name/value pairs in a stable order, leaving out empty values and the defaults. */
export function paramPairs (params: HistoryParams, except: ParamName[] = []): [string, string][] {
  const pairs: [string, string][] = []
  for (const name of ORDER) {
    if (except.includes(name)) continue
    if (name === 'page' && (params.page === '1' || params.page === '')) continue
    if (name === 'size' && params.size === String(DEFAULT_PAGE_SIZE)) continue
    const value = params[name]
    for (const v of Array.isArray(value) ? value : [value]) if (v.trim() !== '') pairs.push([name, v])
  }
  return pairs
}

/** The parameters of this list with some changed, as name/value pairs; any change of view goes back to the first page. */
export function historyPairs (params: HistoryParams, changes: Partial<HistoryParams> = {}): [string, string][] {
  return paramPairs({ ...params, ...('page' in changes ? {} : { page: '' }), ...changes })
}

/** The URL of this list with some parameters changed. */
export function historyHref (basePath: string, params: HistoryParams, changes: Partial<HistoryParams> = {}): string {
  const query = new URLSearchParams(historyPairs(params, changes)).toString()
  return query ? `${basePath}?${query}` : basePath
}

/** Whether the list is in its usual order, newest first, whether or not the URL says so. */
export function isNewestFirst ({ sort, dir }: Pick<HistoryParams, 'sort' | 'dir'>): boolean {
  return sort === '' || (sort === 'date' && dir === 'desc')
}

/**
 * Activating a column's heading: ascending, then descending, then back to
 * newest first. The date column is newest first already, so it only
 * switches between oldest and newest first.
 */
export function nextSort (params: HistoryParams, column: Column): Pick<HistoryParams, 'sort' | 'dir'> {
  if (column === 'date') return isNewestFirst(params) ? { sort: 'date', dir: 'asc' } : { sort: '', dir: '' }
  if (params.sort !== column) return { sort: column, dir: 'asc' }
  if (params.dir !== 'desc') return { sort: column, dir: 'desc' }
  return { sort: '', dir: '' }
}
