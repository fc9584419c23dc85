import type { EntityManager } from '@mikro-orm/postgresql'

export interface AuditRow {
  id: string
  practice_group_id: number
  occurred_at: Date
  user_id: number | null
  user_name: string
  action: string
  page: string
  record_type: string | null
  record_id: string | null
  description: string
  url: string
  ip: string | null
  changes: { field: string, label: string, before: unknown, after: unknown, beforeText: string, afterText: string }[] | null
}

/** The practice's history, oldest first, as an auditor would query it. */
export async function auditRows (em: EntityManager, practiceGroupId: number, where = 'true', params: unknown[] = []): Promise<AuditRow[]> {
  return em.getConnection().execute<AuditRow[]>(
    `select id, practice_group_id, occurred_at, user_id, user_name, action, page, record_type, record_id, description, url, host(ip) as ip, changes
     from audit_records where practice_group_id = ? and (${where}) order by id`, [practiceGroupId, ...params])
}

export async function auditCount (em: EntityManager, practiceGroupId: number): Promise<number> {
  const rows = await em.getConnection().execute<{ n: string }[]>('select count(*) as n from audit_records where practice_group_id = ?', [practiceGroupId])
  return Number(rows[0]!.n)
}
