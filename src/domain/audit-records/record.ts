/** What a history record says: who did what, where, when and from where; the recorder writes it, every reader reads it. */
export const ACTIONS = ['view', 'create', 'update', 'delete', 'login', 'logout', 'login_failed', 'export', 'purchase'] as const
export type Action = typeof ACTIONS[number]

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
  description: string
  changes?: FieldChangeRecord[] | null
}
