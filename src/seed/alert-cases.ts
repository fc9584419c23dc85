import type { EntityManager } from '@mikro-orm/postgresql'
import type { PracticeGroup } from '../domain/practice-groups/practice-group.entity.js'
import type { User } from '../domain/users/user.entity.js'
import type { Actor } from '../domain/audit-records/record.js'
import { patientKind } from '../domain/patients/patient.kind.js'
import { createRecord, recordView } from '../domain/practice-records/practice-records.service.js'
import { recordEvent } from '../domain/recorder/recorder.js'
import { REFUSED_PAGE } from '../plugins/app/recorder.js'
import { scanUntilCaughtUp, skipRecordsSoFar } from '../domain/alerts/alert-scan.js'
import { DAY_MS, fromLocalInput, localIsoDate } from '../domain/time/zoned.js'

/** The most recent weekday before `now` in the time zone, at the local time given. */
function lastWeekdayAt (now: Date, timeZone: string, time: string): Date {
  for (let daysAgo = 1; ; daysAgo++) {
    const date = localIsoDate(new Date(now.getTime() - daysAgo * DAY_MS), timeZone)
    const weekday = new Date(`${date}T00:00:00Z`).getUTCDay()
    if (weekday >= 1 && weekday <= 5) return fromLocalInput(`${date}T${time}`, timeZone)!
  }
}

/**
 * What a privacy officer should find on first sign-in: a practitioner opens
 * a patient who shares her family name, reception opens a patient late in
 * the evening, and a practitioner is refused a Full Access page. The weeks
 * of everyday use before them predate the practice's alerts, so the alert
 * pass starts after them and reads these at once.
 */
export async function seedAlertCases (em: EntityManager, group: PracticeGroup, users: { owner: User, practitioner: User, namesake: User, reception: User }, now: Date): Promise<void> {
  await skipRecordsSoFar(em)
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
