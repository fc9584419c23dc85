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


export const FILTER_PARAMS: ParamName[] = ['range', 'from', 'to', 'user', 'action', 'pageName', 'id', 'description', 'url', 'ip']

export const PAGE_SIZES = [25, 50, 100] as const
export const DEFAULT_PAGE_SIZE = 50

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
