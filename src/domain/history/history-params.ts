import type { Column } from '../audit-records/criteria.js'
/**
 * The state of a history list exactly as its URL carries it. Every control
 * on the page (sort headers, column filters, dropdowns, pages) is a link or
 * a GET form built from these, so a pasted URL shows the same view.
 */
export interface HistoryParams {
  sort: string
  dir: string
  range: string
  from: string
  to: string
  user: string[]
  action: string[]
  pageName: string
  id: string
  description: string
  url: string
  ip: string
  page: string
  size: string
}

export type ParamName = keyof HistoryParams

export { COLUMNS, type Column } from '../audit-records/criteria.js'

export const COLUMN_LABELS: Record<Column, string> = {
  date: 'Date', user: 'User', action: 'Action', page: 'Page', id: 'ID', description: 'Description', url: 'URL', ip: 'IP Address'
}

/** The parameters each column's filter owns. */
export const COLUMN_FILTER_PARAMS: Record<Column, ParamName[]> = {
  date: ['range', 'from', 'to'], user: ['user'], action: ['action'], page: ['pageName'], id: ['id'], description: ['description'], url: ['url'], ip: ['ip']
}

export const FILTER_PARAMS: ParamName[] = ['range', 'from', 'to', 'user', 'action', 'pageName', 'id', 'description', 'url', 'ip']

export const PAGE_SIZES = [25, 50, 100] as const
export const DEFAULT_PAGE_SIZE = 50

const ORDER: ParamName[] = ['range', 'from', 'to', 'user', 'action', 'pageName', 'id', 'description', 'url', 'ip', 'sort', 'dir', 'size', 'page']

const MAX_VALUES = 50

function single (value: unknown): string {
  if (Array.isArray(value)) return single(value[value.length - 1])
  return typeof value === 'string' ? value : ''
}

function several (value: unknown): string[] {
  const values = Array.isArray(value) ? value : [value]
  const kept = values.filter((v): v is string => typeof v === 'string').map(v => v.trim()).filter(v => v !== '')
  return [...new Set(kept)].slice(0, MAX_VALUES)
}

/** Reads the query string; meaning and mistakes are judged later, so the page can show what was asked for. */
export function readParams (query: Record<string, unknown>): HistoryParams {
  return {
    sort: single(query.sort).trim(),
    dir: single(query.dir).trim(),
    range: single(query.range).trim(),
    from: single(query.from).trim(),
    to: single(query.to).trim(),
    user: several(query.user),
    action: several(query.action),
    pageName: single(query.pageName).trim(),
    id: single(query.id).trim(),
    description: single(query.description),
    url: single(query.url),
    ip: single(query.ip).trim(),
    page: single(query.page).trim(),
    size: single(query.size).trim()
  }
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

/** The URL of this list with some parameters changed; any change of view goes back to the first page. */
export function historyHref (basePath: string, params: HistoryParams, changes: Partial<HistoryParams> = {}): string {
  const next: HistoryParams = { ...params, ...('page' in changes ? {} : { page: '' }), ...changes }
  const query = new URLSearchParams(paramPairs(next)).toString()
  return query ? `${basePath}?${query}` : basePath
}

/** Clicking a column's heading: ascending, then descending, then back to newest first. */
export function nextSort (params: HistoryParams, column: Column): Pick<HistoryParams, 'sort' | 'dir'> {
  if (params.sort !== column) return { sort: column, dir: 'asc' }
  if (params.dir !== 'desc') return { sort: column, dir: 'desc' }
  return { sort: '', dir: '' }
}

export const NO_FILTERS: Partial<HistoryParams> = {
  range: '', from: '', to: '', user: [], action: [], pageName: '', id: '', description: '', url: '', ip: ''
}
