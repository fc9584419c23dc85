import { EXPORT_FORMATS, type ExportFormat } from '../../domain/history/history-export.js'
import type { ParamName } from '../../domain/history/history-params.js'

/**
 * A parameter as the query string carries it: text, or several texts when
 * the name is repeated. The schema takes any of them; what they mean and
 * what is wrong with them is judged by `interpret`, so a bad value is
 * shown in place on the page (a 400 with the history's own explanation)
 * rather than as a request that was not understood.
 */
const textOrTexts = { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] } as const

/** The history's view, exactly as its links and forms write it: the same for the page, its fragment, its chart and its exports. */
export const historyQuery = {
  type: 'object',
  properties: {
    sort: textOrTexts,
    dir: textOrTexts,
    range: textOrTexts,
    from: textOrTexts,
    to: textOrTexts,
    user: textOrTexts,
    action: textOrTexts,
    pageName: textOrTexts,
    id: textOrTexts,
    description: textOrTexts,
    url: textOrTexts,
    ip: textOrTexts,
    page: textOrTexts,
    size: textOrTexts
  } satisfies Record<ParamName, typeof textOrTexts>
} as const

export type HistoryQuery = { [name in ParamName]?: string | string[] }

export const exportFormat = { format: { type: 'string', enum: EXPORT_FORMATS } } as const

export interface ExportParams { format: ExportFormat }

export const verifyBody = {
  type: 'object',
  properties: { knownHead: { type: 'string', maxLength: 500 } }
} as const

export interface VerifyBody { knownHead?: string }

/** From and To as the receipt form sends them: dates in the practice's time zone, either may be empty. */
export const receiptQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { from: { type: 'string', maxLength: 40 }, to: { type: 'string', maxLength: 40 } }
} as const

export interface ReceiptQuery { from?: string, to?: string }

/** The activity chart's toggle: fold it away on every history page, or show it again. */
export const chartPreferenceBody = {
  type: 'object',
  required: ['chart'],
  properties: { chart: { type: 'string', enum: ['shown', 'hidden'] } }
} as const

export interface ChartPreferenceBody { chart: 'shown' | 'hidden' }
