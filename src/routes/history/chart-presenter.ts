import { createHash } from 'node:crypto'
import { CHART_DAYS, type ActivityPerDay } from '../../domain/history/activity-per-day.js'
import type { HistoryParams } from '../../domain/history/history-params.js'
import { counted } from '../../plural.js'
import { viewHelpers } from '../../views/helpers.js'
import { historyHref } from './links.js'
import type { HistoryPageSpec } from './subjects.js'

const WIDTH = 720
const HEIGHT = 48

const count = viewHelpers.count
const shortDate = (isoDate: string): string => isoDate.split('-').reverse().join('/')
const records = (n: number): string => counted(n, 'record', 'records')

/**
 * The activity chart's drawing and words: one bar per day scaled to the
 * busiest (the drawing stretches to the width; its labels are text beside
 * it, so they never stretch), a title and summary for screen readers, and
 * the same numbers as a table.
 */
function activityChartModel (activity: ActivityPerDay) {
  const { days, total } = activity
  const max = Math.max(1, ...days.map(d => d.count))
  const step = WIDTH / Math.max(days.length, 1)
  const gap = step > 4 ? 1 : 0
  const bars = days.map((d, i) => {
    const height = d.count === 0 ? 0 : Math.max(1, (d.count / max) * HEIGHT)
    return {
      x: (i * step).toFixed(2),
      y: (HEIGHT - height).toFixed(2),
      width: Math.max(step - gap, 0.5).toFixed(2),
      height: height.toFixed(2),
      label: `${shortDate(d.day)}: ${records(d.count)}`
    }
  })
  const first = days[0]?.day ?? ''
  const last = days.at(-1)?.day ?? ''
  const busiest = days.reduce((best, d) => (d.count > best.count ? d : best), { day: '', count: 0 })
  const range = first === last ? shortDate(first) : `${shortDate(first)} to ${shortDate(last)}`
  const summary = days.length === 0
    ? 'Nothing to draw: the chosen dates start after today.'
    : total === 0
    ? `No records in this view from ${range}.`
    : `${records(total)} from ${range}; the busiest day was ${shortDate(busiest.day)} with ${records(busiest.count)}.`
  return {
    width: WIDTH,
    height: HEIGHT,
    max: count(max),
    firstLabel: shortDate(first),
    lastLabel: shortDate(last),
    bars,
    title: activity.truncated ? `Records per day, the newest ${CHART_DAYS} days of this view` : 'Records per day in this view',
    summary,
    rows: days.filter(d => d.count > 0).reverse().map(d => ({ date: shortDate(d.day), count: count(d.count) }))
  }
}

/** The chart as the panel loads it, or as a page of its own with the way back to the history it was drawn from. */
export function activityChartView (history: HistoryPageSpec, params: HistoryParams, activity: ActivityPerDay) {
  return {
    title: `Activity per day: ${history.title}`,
    back: { href: historyHref(history.basePath, params), label: `‹ ${history.title}` },
    chart: activityChartModel(activity)
  }
}

/** Where the panel loads the chart of the current view from: sorting and paging do not change it. */
function activityHref (basePath: string, params: HistoryParams): string {
  return historyHref(`${basePath}/activity`, { ...params, sort: '', dir: '', size: '' })
}

/**
 * The id of the chart's place in the panel, named after the chart's address
 * and whether it is folded (as a CSS identifier, which htmx needs): a swap
 * that leaves both as they were, such as a sort or another page, keeps the
 * drawn chart instead of fetching and drawing it again.
 */
function chartSlotId (href: string, collapsed: boolean): string {
  return `chart-${createHash('sha256').update(`${collapsed ? 'folded' : 'shown'} ${href}`).digest('hex').slice(0, 16)}`
}

/**
 * The chart's place above the table: folded away as this viewer chose, or
 * loaded once the table is shown; its toggle comes back to the same view.
 */
export function chartSlot (basePath: string, params: HistoryParams, collapsed: boolean) {
  const href = activityHref(basePath, params)
  return {
    collapsed,
    href,
    slotId: chartSlotId(href, collapsed),
    toggleAction: historyHref(`${basePath}/chart`, params, { page: params.page })
  }
}
