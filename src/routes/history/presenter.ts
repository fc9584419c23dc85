import { ACTIONS } from '../../domain/audit-records/record.js'
import type { HistoryAccess } from '../../domain/history/access.js'
import { DATE_RANGES, isDateRange, presetInterval } from '../../domain/history/date-ranges.js'
import type { FilterChoices, ParamProblem } from '../../domain/history/history-criteria.js'
import { DEFAULT_PAGE_SIZE, FILTER_PARAMS, PAGE_SIZES, type HistoryParams, type ParamName } from '../../domain/history/history-params.js'
import { COLUMNS, type Column } from '../../domain/audit-records/criteria.js'
import type { HistoryPage } from '../../domain/history/history.service.js'
import { EXPORT_FORMAT_NAMES, type ExportFormat } from '../../domain/history/history-export.js'
import { formatDateTime, formatDateTimeSeconds, fromLocalInput, toLocalInput } from '../../domain/time/zoned.js'
import { viewHelpers } from '../../views/helpers.js'
import { linkedSentence } from '../settings/add-ons/links.js'
import { chartSlot } from './chart-presenter.js'
import { NO_FILTERS, historyHref, historyPairs, isEmptyParam, isNewestFirst, nextSort, paramPairs } from './links.js'

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

const SORT_DIRECTION_LABELS = { asc: 'Ascending', desc: 'Descending' } as const

interface HeaderModel {
  column: Column
  label: string
  /** The view its heading's button shows, as the fields of a GET form. */
  sortPairs: [string, string][]
  /** What the heading's button does, said after the column's name: "sort descending". */
  sortAction: string
  ariaSort: 'ascending' | 'descending' | 'none'
  filtered: boolean
  hidden: [string, string][]
}

interface ChipModel { column: Column, label: string, removeHref: string }

interface Order { column: Column, by: string, ascending: boolean, direction: string }

/** An order as people say it: by User, ascending; the usual order is by date, newest first. */
function order ({ sort, dir }: Pick<HistoryParams, 'sort' | 'dir'>): Order {
  if (sort === '' || sort === 'date') {
    const ascending = !isNewestFirst({ sort, dir })
    return { column: 'date', by: 'date', ascending, direction: ascending ? 'oldest first' : 'newest first' }
  }
  const ascending = dir !== 'desc'
  return { column: sort as Column, by: COLUMN_LABELS[sort as Column] ?? sort, ascending, direction: ascending ? 'ascending' : 'descending' }
}

/** A heading's sort button, and how the column is sorted now. */
function sortHeading (column: Column, params: HistoryParams): Pick<HeaderModel, 'sortPairs' | 'sortAction' | 'ariaSort'> {
  const shown = order(params)
  const nextParams = nextSort(params, column)
  const next = order(nextParams)
  return {
    sortPairs: historyPairs(params, nextParams),
    sortAction: next.column === column ? `sort ${next.direction}` : `sort by ${next.by}, ${next.direction}`,
    ariaSort: shown.column !== column ? 'none' : shown.ascending ? 'ascending' : 'descending'
  }
}

/** The phone's Filters sheet: a sort choice, and a way into each column's filter with what it holds now. */
interface FilterSheetModel {
  sort: {
    hidden: [string, string][]
    columns: { value: string, label: string, selected: boolean }[]
    directions: { label: string, href: string, current: boolean }[]
  }
  filters: { column: Column, label: string, value: string | null }[]
}

export interface HistoryLayoutInput {
  basePath: string
  params: HistoryParams
  choices: FilterChoices
  problems: ParamProblem[]
  access: HistoryAccess
  timeZone: string
  now: Date
  /** The viewer keeps the activity chart folded away. */
  chartCollapsed: boolean
  /** Where this viewer goes to subscribe, linked from the window's summary while the practice has no subscription. */
  subscribeHref: string
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

/** What the sort buttons of the headings do, as a choice in the Filters sheet, for screens where the headings are out of sight. */
function sortChoice (params: HistoryParams, href: (changes: Partial<HistoryParams>) => string, hidden: [string, string][]): FilterSheetModel['sort'] {
  const sorted = COLUMNS.find(column => column === params.sort)
  return {
    hidden,
    columns: [
      { value: '', label: 'Newest first', selected: !sorted },
      ...COLUMNS.map(column => ({ value: column, label: COLUMN_LABELS[column], selected: column === sorted }))
    ],
    directions: sorted
      ? (['asc', 'desc'] as const).map(dir => ({ label: SORT_DIRECTION_LABELS[dir], href: href({ sort: sorted, dir }), current: (params.dir || 'asc') === dir }))
      : []
  }
}

function isFiltered (column: Column, params: HistoryParams): boolean {
  return COLUMN_FILTER_PARAMS[column].some(name => !isEmptyParam(params, name) && !(name === 'range' && params.range === 'custom'))
}

const count = viewHelpers.count

/** A link to another page of the list; on the first or last page some lead nowhere and are shown disabled. */
interface PagerLink { key: string, label: string, text: string, rel: string | null, href: string | null }

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
    links: [
      { key: 'first', label: 'First page', text: '« First', rel: null, href: page !== 1 ? href({ page: '1' }) : null },
      { key: 'previous', label: 'Previous page', text: '‹ Previous', rel: 'prev', href: page !== null && page > 1 ? href({ page: String(page - 1) }) : null },
      { key: 'next', label: 'Next page', text: 'Next ›', rel: 'next', href: results.hasNext && page !== null ? href({ page: String(page + 1) }) : null },
      { key: 'last', label: 'Last page', text: 'Last »', rel: null, href: onLast ? null : href({ page: pages !== null ? String(pages) : 'last' }) }
    ] satisfies PagerLink[]
  }
}

/**
 * The current view's exports, every page of it: CSV for people, and
 * offered apart, for other systems, NDJSON and FHIR AuditEvents.
 */
function exportLinks (basePath: string, params: HistoryParams) {
  const query = new URLSearchParams(paramPairs(params, ['page', 'size'])).toString()
  const link = (format: ExportFormat, hint = '') => ({ label: EXPORT_FORMAT_NAMES[format], hint, href: `${basePath}/export.${format}${query ? `?${query}` : ''}` })
  return {
    forPeople: link('csv'),
    forSystems: [link('ndjson', 'one JSON record per line'), link('fhir.ndjson', 'FHIR R4 AuditEvents, for an audit repository or a SIEM')]
  }
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
    ...sortHeading(column, params),
    filtered: isFiltered(column, params),
    hidden: hiddenExcept(...COLUMN_FILTER_PARAMS[column])
  }))

  const chips: ChipModel[] = COLUMNS.filter(column => isFiltered(column, params)).map(column => ({
    column,
    label: `${COLUMN_LABELS[column]}: ${chipValue(column, params, choices, timeZone)}`,
    removeHref: href(Object.fromEntries(COLUMN_FILTER_PARAMS[column].map(name => [name, name === 'user' || name === 'action' ? [] : '']))),
  }))

  const filterSheet: FilterSheetModel = {
    sort: sortChoice(params, href, hiddenExcept('sort', 'dir')),
    filters: COLUMNS.filter(column => column !== 'user' || scope.onlyUserId === null).map(column => ({
      column, label: COLUMN_LABELS[column], value: isFiltered(column, params) ? chipValue(column, params, choices, timeZone) : null
    }))
  }

  const badParams = [...new Set(input.problems.flatMap(p => p.param === 'sort' || p.param === 'dir' ? ['sort', 'dir'] as ParamName[] : [p.param]))]

  return {
    basePath,
    params,
    choices,
    timeZone,
    /** The same summary with its "subscribe" as a link (partials/linked-sentence). */
    windowNote: linkedSentence(scope.window.summary, scope.window.subscribed ? null : input.subscribeHref),
    dateInputs: dateInputs(params, input.now, timeZone),
    seesEveryone: scope.onlyUserId === null,
    headers,
    chips,
    filterSheet,
    clearAllHref: href(NO_FILTERS),
    chart: may.chart ? chartSlot(basePath, params, input.chartCollapsed) : null,
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

type HistoryLayout = ReturnType<typeof historyLayout>

/** What the list shows, in the words a screen reader announces after each change: "Sorted by User, ascending. 1–50 of 747." */
function listStatus ({ params, chips }: HistoryLayout, pastEnd: string | null, range: string | null): string {
  const { by, direction } = order(params)
  return [
    `Sorted by ${by}, ${direction}.`,
    chips.length ? `Filtered by ${chips.map(chip => chip.label).join('; ')}.` : null,
    pastEnd,
    range ? `${range}.` : 'No records to show.'
  ].filter(Boolean).join(' ')
}

/** The layout with the rows and the pager of one answer (none when the filters could not be applied). */
export function historyModel (layout: HistoryLayout, results: HistoryPage | null) {
  const { basePath, params, timeZone } = layout
  const pastEnd = results?.requestedPage ? `There is no page ${results.requestedPage}; showing ${results.page ? `page ${results.page}, the last` : 'the last page'}.` : null
  const pager = results && pagerModel(results, changes => historyHref(basePath, params, changes))
  return {
    ...layout,
    pastEnd,
    rows: (results?.rows ?? []).map(row => ({
      ...row,
      date: formatDateTimeSeconds(row.occurredAt, timeZone),
      actionLabel: ACTION_LABELS[row.action] ?? row.action,
      recordLabel: row.recordType ? RECORD_TYPE_LABELS[row.recordType] ?? row.recordType : ''
    })),
    pager,
    status: results && pager ? listStatus(layout, pastEnd, results.rows.length ? pager.range : null) : null
  }
}
