import { ACTIONS, type Action } from '../audit-records/record.js'
import { boundary, isDateRange, presetInterval } from './date-ranges.js'
import { readsAsInet } from './inet-text.js'
import { parseId, parseWholeNumber } from '../plain-numbers.js'
import { DEFAULT_PAGE_SIZE, PAGE_SIZES, type HistoryParams, type ParamName } from './history-params.js'
import { COLUMNS, type Column, type HistoryCriteria } from '../audit-records/criteria.js'

export interface ParamProblem { param: ParamName, message: string }

/** What the practice offers to filter by: its users and the pages its history names. */
export interface FilterChoices {
  users: { id: number, name: string }[]
  pages: string[]
}

const MAX_TEXT = 200
const MAX_PAGE = 999_999_999

/** An address, or a range when it has a prefix length, exactly as PostgreSQL's inet reads it; zone ids (fe80::1%eth0) are not. */
function parseIp (value: string): { ip: string, range: boolean } | null {
  return readsAsInet(value) ? { ip: value, range: value.includes('/') } : null
}

/**
 * Turns the URL's parameters into criteria, or says exactly which ones are
 * wrong. A wrong parameter is never dropped quietly: the caller shows the
 * problems instead of a list that would ignore them.
 */
export function interpret (params: HistoryParams, choices: FilterChoices, now: Date, timeZone: string): { criteria: HistoryCriteria, problems: ParamProblem[] } {
  const problems: ParamProblem[] = []
  const problem = (param: ParamName, message: string): void => { problems.push({ param, message }) }

  let sort: Column | null = null
  if (params.sort) {
    if ((COLUMNS as readonly string[]).includes(params.sort)) sort = params.sort as Column
    else problem('sort', `"${params.sort}" is not a column that can be sorted. Choose one of: ${COLUMNS.join(', ')}.`)
  }
  let dir: 'asc' | 'desc' = 'asc'
  if (params.dir === 'asc' || params.dir === 'desc') dir = params.dir
  else if (params.dir) problem('dir', `The sort direction must be "asc" or "desc", not "${params.dir}".`)
  if (params.dir && !params.sort) problem('dir', 'A sort direction needs a column to sort by.')

  let since: Date | null = null
  let until: Date | null = null
  const custom = params.from !== '' || params.to !== ''
  const range = params.range
  if (isDateRange(range)) {
    if (range !== 'custom' && custom) problem('range', 'Choose either a preset date range or your own From and To dates, not both.')
    else if (range !== 'custom') ({ since, until } = presetInterval(range, now, timeZone))
  } else if (range) {
    problem('range', `"${range}" is not a date range. Choose Today, Yesterday, Last 7 days, Last 30 days, This month or Custom range.`)
  }
  if (params.from) {
    since = boundary(params.from, timeZone, 'from')
    if (!since) problem('from', `"${params.from}" is not a real date and time. Use the form 2026-11-25T09:30.`)
  }
  if (params.to) {
    until = boundary(params.to, timeZone, 'to')
    if (!until) problem('to', `"${params.to}" is not a real date and time. Use the form 2026-11-25T17:00.`)
  }
  if (params.from && params.to && since && until && since >= until) problem('to', 'The From date must be before the To date.')

  const userIds: number[] = []
  for (const value of params.user) {
    const id = parseId(value)
    const user = id === null ? undefined : choices.users.find(u => u.id === id)
    if (user) userIds.push(user.id)
    else problem('user', `There is no user "${value}" whose history you can see.`)
  }

  const actions: Action[] = []
  for (const value of params.action) {
    if ((ACTIONS as readonly string[]).includes(value)) actions.push(value as Action)
    else problem('action', `"${value}" is not an action. Choose from: ${ACTIONS.join(', ')}.`)
  }

  if (params.pageName && !choices.pages.includes(params.pageName)) problem('pageName', `"${params.pageName}" is not a page in this practice's history.`)
  if (params.id && parseId(params.id) === null) problem('id', `"${params.id}" is not a record ID. IDs are whole numbers such as 42.`)
  if (params.description.length > MAX_TEXT) problem('description', `Search at most ${MAX_TEXT} characters of description.`)
  if (params.url.length > MAX_TEXT) problem('url', `Search at most ${MAX_TEXT} characters of URL.`)

  let ip: { ip: string, range: boolean } | null = null
  if (params.ip) {
    ip = parseIp(params.ip)
    if (!ip) problem('ip', `"${params.ip}" is not an IP address or range. Use an address such as 203.0.113.7 or a range such as 203.0.113.0/24.`)
  }

  let size = DEFAULT_PAGE_SIZE
  if (params.size) {
    if ((PAGE_SIZES as readonly number[]).map(String).includes(params.size)) size = Number(params.size)
    else problem('size', `Show 25, 50 or 100 records a page, not "${params.size}".`)
  }
  let page = 1
  const lastPage = params.page === 'last'
  if (params.page && !lastPage) {
    const number = parseWholeNumber(params.page, 1, MAX_PAGE)
    if (number !== null) page = number
    else problem('page', `"${params.page}" is not a page number.`)
  }

  return {
    criteria: {
      sort,
      dir,
      since,
      until,
      userIds,
      actions,
      pageName: params.pageName || null,
      recordId: params.id || null,
      descriptionContains: params.description.trim() || null,
      urlContains: params.url.trim() || null,
      ip: ip?.ip ?? null,
      ipIsRange: ip?.range ?? false,
      page,
      lastPage,
      size
    },
    problems
  }
}
