/** What a history record says: who did what, where, when and from where; the recorder writes it, every reader reads it. */
export const ACTIONS = ['view', 'create', 'update', 'delete', 'login', 'logout', 'login_failed', 'export', 'purchase', 'denied'] as const
export type Action = typeof ACTIONS[number]

/** A refused attempt is recorded with the action `denied`, and only such a record has this outcome. */
export type Outcome = 'success' | 'denied'

export const outcomeOf = (action: Action): Outcome => action === 'denied' ? 'denied' : 'success'

/** Who is acting, from where, and at what moment: what every record needs besides the action itself. */
export interface Actor {
  practiceGroupId: number
  userId: number | null
  userName: string
  url: string
  ip: string | null
  timeZone: string
  occurredAt: Date
}

/** One changed field: stored values for tools, and the words a person reads. */
export interface FieldChangeRecord {
  field: string
  label: string
  before: string | number | boolean | null
  after: string | number | boolean | null
  beforeText: string
  afterText: string
}

export interface RecordedEvent {
  action: Action
  page: string
  recordType?: string | null
  recordId?: string | number | null
  /** The patient the record concerns: the patient's own id, or the patient of an appointment or invoice. */
  patientId?: number | null
  description: string
  changes?: FieldChangeRecord[] | null
}
