import type { EntityManager } from '@mikro-orm/postgresql'
import type { PracticeGroup } from '../domain/practice-groups/practice-group.entity.js'
import type { User } from '../domain/users/user.entity.js'
import type { Actor } from '../domain/audit-records/record.js'
import { patientKind } from '../domain/patients/patient.kind.js'
import { createRecord, recordView } from '../domain/practice-records/practice-records.service.js'
import { recordEvent } from '../domain/recorder/recorder.js'
import { REFUSED_PAGE } from '../plugins/app/recorder.js'
import { scanUntilCaughtUp } from '../domain/alerts/alert-scan.js'
import { lastWeekdayAt } from './times.js'

/**
 * What a privacy officer should find on first sign-in: a practitioner opens
 * a patient who shares her family name, reception opens a patient late in
 * the evening, and a practitioner is refused a Full Access page; then the
 * alert pass reads them, and whatever else the demo wrote since the alert
 * pass was told to start (see demo.ts).
 */
export async function seedAlertCases (em: EntityManager, group: PracticeGroup, users: { owner: User, practitioner: User, namesake: User, reception: User }, now: Date): Promise<void> {
  const acting = (user: User, when: Date, url: string, ip = '203.0.113.57'): Actor => ({
    practiceGroupId: group.id, userId: user.id, userName: user.name, url, ip, timeZone: group.timeZone, occurredAt: when
  })
  const morning = lastWeekdayAt(now, group.timeZone, '10:15')
  const family = users.namesake.name.split(' ').pop()!
  const relative = await em.transactional(tx => createRecord(tx, patientKind, acting(users.owner, new Date(morning.getTime() - 600_000), '/patients'), users.owner, {
    name: `Marcus ${family}`, dateOfBirth: '1962-07-19', phone: '0412 555 019', email: 'marcus.relative@example.test', notes: ''
  }))
  await recordView(em, patientKind, acting(users.namesake, morning, `/patients/${relative.id}`), relative)

  const evening = lastWeekdayAt(now, group.timeZone, '21:40')
  await recordView(em, patientKind, acting(users.reception, evening, `/patients/${relative.id}`), relative)

  await recordEvent(em, acting(users.practitioner, new Date(morning.getTime() + 3_600_000), `/settings/users/${users.owner.id}/edit`), {
    action: 'denied', page: REFUSED_PAGE, description: `Refused GET /settings/users/${users.owner.id}/edit: Only Full Access users can do this.`
  })
  await scanUntilCaughtUp(em, now)
}
