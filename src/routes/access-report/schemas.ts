import { recordIdParams } from '../plain-numbers.js'

export const reportParams = recordIdParams('patient')

export interface ReportParams { id: number }

/**
 * From and To as the report's form sends them. What they mean, and what is
 * wrong with them, is judged by `readPeriod`, so a date that cannot be read
 * is explained on the report's own page; only text far longer than any
 * date is turned away here.
 */
export const reportQuery = {
  type: 'object',
  properties: {
    from: { type: 'string', maxLength: 40 },
    to: { type: 'string', maxLength: 40 }
  }
} as const

export interface ReportQuery { from?: string, to?: string }
