import type { FastifyRequest } from 'fastify'
import { NotFoundError, type Concerning } from '../../domain/errors.js'
import type { HistorySubject } from '../../domain/history/history.service.js'
import { everInHistory } from '../../domain/audit-records/reads.js'
import type { PracticeRecordKind } from '../../domain/practice-records/practice-record-kind.js'
import { findRecord, loadLookups } from '../../domain/practice-records/practice-records.service.js'
import { recordIdParams } from '../plain-numbers.js'

/** One history page: where it is, what it is called, and how its opening is recorded. */
export interface HistoryPageSpec {
  basePath: string
  /** The practice record whose history this is; null for the group history of all the practice's users. */
  subject: HistorySubject | null
  /** The patient the subject concerns, named by the records of opening and exporting this history. */
  patientId: number | null
  title: string
  back: { href: string, label: string }
  /** The page and words recorded when someone opens this history. */
  recordedPage: string
  recordedDescription: string
}

/** What a mounted history is of, for the routes: the group of users, or one kind of practice record. */
export interface HistoryOf {
  /** Only the group history offers the archive of what expiry deletes and the integrity check. */
  group: boolean
  /** Schemas of the address's own parameters (a record's id), checked on every route of the history. */
  params: Record<string, unknown>
  /** Names the history a request asks for; a record that never existed is not found. */
  spec: (request: FastifyRequest) => Promise<HistoryPageSpec>
  /** The practice record (and its patient) a refused request for this history concerns, if it is in the practice. */
  concerning: (request: FastifyRequest) => Promise<Concerning | null>
}

export const GROUP_HISTORY_PATH = '/settings/users/history'

const GROUP_HISTORY: HistoryPageSpec = {
  basePath: GROUP_HISTORY_PATH,
  subject: null,
  patientId: null,
  title: 'User Action History',
  back: { href: '/settings/users', label: '‹ Settings › Users' },
  recordedPage: 'Settings > Users > History',
  recordedDescription: 'Viewed the group User Action History'
}

export const groupHistory: HistoryOf = { group: true, params: {}, spec: async () => GROUP_HISTORY, concerning: async () => null }

/** The history of each record of one kind, at `<kind>/:id/history`. */
export function recordHistory (kind: PracticeRecordKind): HistoryOf {
  const noun = kind.title.toLowerCase()

  /**
   * How the history names the record, and the patient it concerns; a
   * deleted record is still named by its history, so auditors can see who
   * deleted it.
   */
  async function heading (request: FastifyRequest, id: number): Promise<{ named: string, patientId: number | null }> {
    const practiceGroupId = request.practice!.id
    const record = await findRecord(request.em, kind, practiceGroupId, id)
    if (record) {
      const lookups = await loadLookups(request.em, practiceGroupId, [record])
      return { named: `${noun} ${kind.describe(record, lookups, request.practice!.timeZone)}`, patientId: kind.patientOf(record) }
    }
    if (await everInHistory(request.em, practiceGroupId, { recordType: kind.type, recordId: String(id) })) {
      return { named: `${noun} #${id} (deleted)`, patientId: kind.patientOf({ id }) }
    }
    throw new NotFoundError(noun)
  }

  return {
    group: false,
    params: recordIdParams(noun).properties,
    async concerning (request) {
      const { id } = request.params as { id: number }
      const record = await findRecord(request.em, kind, request.practice!.id, id)
      return record && { recordType: kind.type, recordId: id, patientId: kind.patientOf(record) }
    },
    async spec (request) {
      const { id } = request.params as { id: number }
      const { named, patientId } = await heading(request, id)
      return {
        basePath: `${kind.basePath}/${id}/history`,
        subject: { recordType: kind.type, recordId: String(id) },
        patientId,
        title: `User Action History: ${named}`,
        back: { href: `${kind.basePath}/${id}`, label: `‹ Back to the ${noun}` },
        recordedPage: `${kind.title} > History`,
        recordedDescription: `Viewed the User Action History of ${named}`
      }
    }
  }
}
