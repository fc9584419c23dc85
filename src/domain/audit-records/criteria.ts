import type { Sentence } from '../plan/plan-sentences.js'
import type { Action } from './record.js'

export const COLUMNS = ['date', 'user', 'action', 'page', 'id', 'description', 'url', 'ip'] as const
export type Column = typeof COLUMNS[number]

/** How far back a practice may look in its history, and how to say so. */
export interface HistoryWindow {
  since: Date
  subscribed: boolean
  summary: Sentence
}

/**
 * Which rows of the history one viewer may see: every read of
 * `audit_records` made for a person takes one, so the table, its count,
 * the chart, the exports, the archive and the filter choices cannot
 * disagree.
 */
export interface HistoryScope {
  practiceGroupId: number
  /** Set when the viewer may only see their own actions. */
  onlyUserId: number | null
  window: HistoryWindow
  /** Restricted patients whose records show without their details, and which text searches pass over; none when absent. */
  withheldPatients?: readonly number[]
}

/** What a history list asks the database for, once every parameter has been understood. */
export interface HistoryCriteria {
  sort: Column | null
  dir: 'asc' | 'desc'
  since: Date | null
  until: Date | null
  userIds: number[]
  actions: Action[]
  pageName: string | null
  recordId: string | null
  descriptionContains: string | null
  urlContains: string | null
  ip: string | null
  ipIsRange: boolean
  /** Only records concerning this patient: about the patient, or their appointments and invoices. */
  patientId?: number
  page: number
  /** The last page was asked for by name ("last"), whatever its number. */
  lastPage: boolean
  size: number
}

/** No filter, newest first: everything a scope shows. */
export const EVERYTHING: Readonly<HistoryCriteria> = Object.freeze({
  sort: null, dir: 'desc', since: null, until: null, userIds: [], actions: [], pageName: null, recordId: null,
  descriptionContains: null, urlContains: null, ip: null, ipIsRange: false, page: 1, lastPage: false, size: 100
})
