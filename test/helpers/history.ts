import type { EntityManager } from '@mikro-orm/postgresql'
import { recordEvent } from '../../src/domain/recorder/recorder.js'
import { type Action, type FieldChangeRecord } from '../../src/domain/audit-records/record.js'
import type { User } from '../../src/domain/users/user.entity.js'

export interface ShownRow {
  id: string
  date: string
  user: string
  action: string
  page: string
  record: string
  description: string
  url: string
  ip: string
}

const decode = (html: string): string => html.replace(/<[^>]+>/g, '').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').replace(/\s+/g, ' ').trim()

/** The history table's rows as a person reads them, top to bottom. */
export function shownRows (html: string): ShownRow[] {
  const rows: ShownRow[] = []
  for (const match of html.matchAll(/<tr data-record-id="(\d+)">([\s\S]*?)<\/tr>/g)) {
    const cells = [...match[2]!.replace(/<details[\s\S]*?<\/details>/g, '').matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map(cell => decode(cell[1]!))
    const [date = '', user = '', action = '', page = '', record = '', description = '', url = '', ip = ''] = cells
    rows.push({ id: match[1]!, date, user, action, page, record, description, url, ip })
  }
  return rows
}

/** The "1–50 of 1,234" line under the table. */
export function shownRange (html: string): string {
  return decode(/<p class="range-count">([\s\S]*?)<\/p>/.exec(html)?.[1] ?? '')
}

export interface RecordValues {
  at: Date | string
  action?: Action
  page?: string
  recordType?: string | null
  recordId?: string | null
  patientId?: number | null
  description?: string
  url?: string
  ip?: string
  changes?: FieldChangeRecord[]
}

/** Writes one history record through the recorder, as the app would for this user at that moment. */
export async function addRecord (em: EntityManager, user: User, values: RecordValues): Promise<void> {
  await recordEvent(em, {
    practiceGroupId: user.practiceGroupId,
    userId: user.id,
    userName: user.name,
    url: values.url ?? '/patients',
    ip: values.ip ?? '203.0.113.10',
    timeZone: 'Australia/Sydney',
    occurredAt: new Date(values.at)
  }, {
    action: values.action ?? 'view',
    page: values.page ?? 'Patients',
    recordType: values.recordType ?? null,
    recordId: values.recordId ?? null,
    patientId: values.patientId ?? null,
    description: values.description ?? 'Viewed the patient list, page 1',
    changes: values.changes ?? null
  })
}
