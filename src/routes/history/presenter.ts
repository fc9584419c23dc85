import { createHash } from 'node:crypto'
import { ACTIONS } from '../../domain/audit-records/record.js'
import type { HistoryAccess } from '../../domain/history/access.js'
import { DATE_RANGES, isDateRange, presetInterval } from '../../domain/history/date-ranges.js'
import type { VerificationInWords } from '../../domain/chain/describe-verification.js'
import { spacedFingerprint, type ChainKey } from '../../domain/signed-heads/chain-key.js'
import type { FilterChoices, ParamProblem } from '../../domain/history/history-criteria.js'
import { DEFAULT_PAGE_SIZE, FILTER_PARAMS, PAGE_SIZES, type HistoryParams, type ParamName } from '../../domain/history/history-params.js'
import { COLUMNS, type Column } from '../../domain/audit-records/criteria.js'
import type { HistoryPage } from '../../domain/history/history.service.js'
import { EXPORT_FORMAT_NAMES, type ExportFormat } from '../../domain/history/history-export.js'
import { formatDateTime, formatDateTimeSeconds, fromLocalInput, toLocalInput } from '../../domain/time/zoned.js'
import { viewHelpers } from '../../views/helpers.js'
import { NO_FILTERS, historyHref, isEmptyParam, nextSort, paramPairs } from './links.js'
import type { HistoryPageSpec } from './subjects.js'

const COLUMN_LABELS: Record<Column, string> = {
  date: 'Date', user: 'User', action: 'Action', page: 'Page', id: 'ID', description: 'Description', url: 'URL', ip: 'IP Address'
}

/** The parameters each column's filter owns. */
const COLUMN_FILTER_PARAMS: Record<Column, ParamName[]> = {
  date: ['range', 'from', 'to'], user: ['user'], action: ['action'], page: ['pageName'], id: ['id'], description: ['description'], url: ['url'], ip: ['ip']
}

export const ACTION_LABELS: Record<string, string> = {
  view: 'View', create: 'Create', update: 'Update', delete: 'Delete', login: 'Login', logout: 'Logout',
  login_failed: 'Login failed', export: 'Export', purchase: 'Purchase', denied: 'Denied'
}

const RECORD_TYPE_LABELS: Record<string, string> = { patient: 'Patient', appointment: 'Appointment', invoice: 'Invoice', user: 'User' }

const ARIA_SORT = { asc: 'ascending', desc: 'descending' } as const

interface HeaderModel {
  column: Column
  label: string
  sortHref: string
  ariaSort: 'ascending' | 'descending' | 'none'
  filtered: boolean
  hidden: [string, string][]
}

interface ChipModel { label: string, removeHref: string }

export interface HistoryLayoutInput {
  basePath: string
  params: HistoryParams
  choices: FilterChoices
  problems: ParamProblem[]
  access: HistoryAccess
  timeZone: string
  now: Date
}

/** What the Date filter's From and To show: the URL's, or the bounds of its preset range as a person would type them. */
function dateInputs (params: HistoryParams, now: Date, timeZone: string): { from: string, to: string } {
  if (!isDateRange(params.range) || params.range === 'custom') return { from: params.from, to: params.to }
  const { since, until } = presetInterval(params.range, now, timeZone)
  return { from: toLocalInput(since!, timeZone), to: toLocalInput(new Date(until!.getTime() - 60_000), timeZone) }
}

function chipValue (column: Column, params: HistoryParams, choices: FilterChoices, timeZone: string): string {
  switch (column) {
    case 'date': {
      if (params.range && params.range !== 'custom') return DATE_RANGES[params.range as keyof typeof DATE_RANGES] ?? params.range
      const show = (value: string): string => {
        const instant = fromLocalInput(value.length === 10 ? `${value}T00:00` : value, timeZone)
        return instant ? (value.length === 10 ? value.split('-').reverse().join('/') : formatDateTime(instant, timeZone)) : value
      }
      if (params.from && params.to) return `${show(params.from)} – ${show(params.to)}`
      return params.from ? `from ${show(params.from)}` : `until ${show(params.to)}`
    }
    case 'user': return params.user.map(id => choices.users.find(u => String(u.id) === id)?.name ?? id).join(', ')
    case 'action': return params.action.map(a => ACTION_LABELS[a] ?? a).join(', ')
    case 'page': return params.pageName
    case 'id': return params.id
    case 'description': return `contains "${params.description.trim()}"`
    case 'url': return `contains "${params.url.trim()}"`
    case 'ip': return params.ip
  }
}

function isFiltered (column: Column, params: HistoryParams): boolean {
  return COLUMN_FILTER_PARAMS[column].some(name => !isEmptyParam(params, name) && !(name === 'range' && params.range === 'custom'))
}

const count = viewHelpers.count

/** The range shown ("1–50 of 1,234", or "of more than 10,000" past the counting limit) and the links to other pages. */
function pagerModel (results: HistoryPage, href: (changes: Partial<HistoryParams>) => string) {
  const { page, pages, size, rows, total } = results
  const of = results.totalIsExact ? count(total) : `more than ${count(total)}`
  const range = page === null
    ? `The last ${count(rows.length)} of ${of}`
    : rows.length === 0 ? `0 of ${of}` : `${count((page - 1) * size + 1)}–${count((page - 1) * size + rows.length)} of ${of}`
  const onLast = page === null || (pages !== null && page >= pages)
  return {
    range,
    label: page === null ? 'Last page' : pages !== null ? `Page ${count(page)} of ${count(pages)}` : `Page ${count(page)}`,
    firstHref: page !== 1 ? href({ page: '1' }) : null,
    previousHref: page !== null && page > 1 ? href({ page: String(page - 1) }) : null,
    nextHref: results.hasNext && page !== null ? href({ page: String(page + 1) }) : null,
    lastHref: onLast ? null : href({ page: pages !== null ? String(pages) : 'last' })
  }
}

/**
 * The current view's exports, every page of it: CSV and NDJSON for people,
 * and FHIR AuditEvents offered apart, for other systems.
 */
function exportLinks (basePath: string, params: HistoryParams) {
  const query = new URLSearchParams(paramPairs(params, ['page', 'size'])).toString()
  const link = (format: ExportFormat) => ({ label: EXPORT_FORMAT_NAMES[format], href: `${basePath}/export.${format}${query ? `?${query}` : ''}` })
  return { main: [link('csv'), link('ndjson')], forSystems: link('fhir.ndjson') }
}

/**
 * The id of the chart's place in the panel, named after the chart's address
 * (as a CSS identifier, which htmx needs): a swap that leaves the address as
 * it was, such as a sort or another page, keeps the drawn chart instead of
 * fetching and drawing it again.
 */
function chartSlotId (chartHref: string): string {
  return `chart-${createHash('sha256').update(chartHref).digest('hex').slice(0, 16)}`
}

/**
 * Everything the history templates show apart from the rows and the pager,
 * worked out here so the templates only lay it out. None of it depends on
 * the query's answer, so it is worked out while the database works.
 */
export function historyLayout (input: HistoryLayoutInput) {
  const { basePath, params, choices, timeZone, access: { scope, may } } = input
  const href = (changes: Partial<HistoryParams> = {}): string => historyHref(basePath, params, changes)
  const hiddenExcept = (...names: ParamName[]): [string, string][] => paramPairs(params, [...names, 'page'])

  const headers: HeaderModel[] = COLUMNS.map(column => ({
    column,
    label: COLUMN_LABELS[column],
    sortHref: href(nextSort(params, column)),
    ariaSort: params.sort === column ? ARIA_SORT[params.dir === 'desc' ? 'desc' : 'asc'] : 'none',
    filtered: isFiltered(column, params),
    hidden: hiddenExcept(...COLUMN_FILTER_PARAMS[column])
  }))

  const chips: ChipModel[] = COLUMNS.filter(column => isFiltered(column, params)).map(column => ({
    label: `${COLUMN_LABELS[column]}: ${chipValue(column, params, choices, timeZone)}`,
    removeHref: href(Object.fromEntries(COLUMN_FILTER_PARAMS[column].map(name => [name, name === 'user' || name === 'action' ? [] : '']))),
  }))

  const chartHref = may.chart ? historyHref(`${basePath}/activity`, { ...params, sort: '', dir: '', size: '' }) : null
  const badParams = [...new Set(input.problems.flatMap(p => p.param === 'sort' || p.param === 'dir' ? ['sort', 'dir'] as ParamName[] : [p.param]))]

  return {
    basePath,
    params,
    choices,
    timeZone,
    windowSummary: scope.window.summary,
    dateInputs: dateInputs(params, input.now, timeZone),
    seesEveryone: scope.onlyUserId === null,
    headers,
    chips,
    clearAllHref: href(NO_FILTERS),
    chartHref,
    chartSlotId: chartHref && chartSlotId(chartHref),
    exports: may.export ? exportLinks(basePath, params) : null,
    hasFilters: FILTER_PARAMS.some(name => !isEmptyParam(params, name)),
    problems: input.problems,
    withoutProblemsHref: href(Object.fromEntries(badParams.map(name => [name, name === 'user' || name === 'action' ? [] : '']))),
    actions: ACTIONS.map(action => ({ value: action, label: ACTION_LABELS[action] ?? action, checked: params.action.includes(action) })),
    dateRanges: Object.entries(DATE_RANGES).map(([value, label]) => ({ value, label })),
    rangeIsCustom: params.range === 'custom' || (!params.range && (params.from !== '' || params.to !== '')),
    pageSizes: PAGE_SIZES.map(size => ({ value: String(size), selected: (params.size || String(DEFAULT_PAGE_SIZE)) === String(size) })),
    hidden: {
      range: hiddenExcept('range', 'from', 'to'),
      user: hiddenExcept('user'),
      size: hiddenExcept('size')
    }
  }
}

/** The layout with the rows and the pager of one answer (none when the filters could not be applied). */
export function historyModel (layout: ReturnType<typeof historyLayout>, results: HistoryPage | null) {
  const { basePath, params, timeZone } = layout
  return {
    ...layout,
    pastEnd: results?.requestedPage ? `There is no page ${results.requestedPage}; showing ${results.page ? `page ${results.page}, the last` : 'the last page'}.` : null,
    rows: (results?.rows ?? []).map(row => ({
      ...row,
      date: formatDateTimeSeconds(row.occurredAt, timeZone),
      actionLabel: ACTION_LABELS[row.action] ?? row.action,
      recordLabel: row.recordType ? RECORD_TYPE_LABELS[row.recordType] ?? row.recordType : ''
    })),
    pager: results && pagerModel(results, changes => historyHref(basePath, params, changes))
  }
}

export interface IntegrityView {
  action: string
  /** The head the user typed in, shown back to them. */
  knownHead: string
  error: string | null
  result: VerificationInWords | null
  /** The key that signs the chain's heads, as people compare it, and where to get it and a receipt. */
  signing: { fingerprint: string, publicKeyPem: string, keyHref: string, receiptAction: string }
}

type IntegrityState = Pick<IntegrityView, 'knownHead' | 'error' | 'result'>

export function integrityView (basePath: string, key: ChainKey, state: IntegrityState = { knownHead: '', error: null, result: null }): IntegrityView {
  return {
    action: `${basePath}/verify`,
    ...state,
    signing: { fingerprint: spacedFingerprint(key.fingerprint), publicKeyPem: key.publicKeyPem, keyHref: `${basePath}/signing-key.pem`, receiptAction: `${basePath}/receipt.json` }
  }
}

/** The Verify integrity form: it checks the practice's whole chain, so it is offered on the group history, to those who may verify. */
export function integrityForm (history: HistoryPageSpec, { may }: HistoryAccess, key: ChainKey): IntegrityView | null {
  return history.subject === null && may.verify ? integrityView(history.basePath, key) : null
}
