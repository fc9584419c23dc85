import type { MikroORM } from '@mikro-orm/core'
import type { EntityManager } from '@mikro-orm/postgresql'
import { PracticeGroup } from '../domain/practice-groups/practice-group.entity.js'
import type { User } from '../domain/users/user.entity.js'
import { makePracticeGroup, makeUser, type UserValues } from './factories.js'
import { simulateEverydayUse } from './everyday-use.js'
import { seedRestrictedPatient } from './restricted-patient.js'
import { seedAlertCases } from './alert-cases.js'
import { skipRecordsSoFar } from '../domain/alerts/alert-scan.js'
import type { Actor } from '../domain/audit-records/record.js'
import { DEFAULT_PLAN } from '../domain/plan/plan.js'
import { purchaseSubscription, setAutoRenew } from '../domain/subscriptions/subscription.service.js'
import { lastOpenDayAt } from './times.js'

export const DEMO_PASSWORD = 'harbour-demo-2026'

const HARBOUR_USERS: UserValues[] = [
  { name: 'Olivia Owner', email: 'owner@harbour.test', accessLevel: 'Full Access', canViewHistory: true },
  { name: 'Dr Sam Lee', email: 'sam.lee@harbour.test', accessLevel: 'Practitioner', canViewHistory: true },
  { name: 'Dr Priya Nair', email: 'priya.nair@harbour.test', accessLevel: 'Practitioner', canViewHistory: false },
  { name: 'Riley Reception', email: 'reception@harbour.test', accessLevel: 'Reception', canViewHistory: false }
]

const BAYSIDE_USERS: UserValues[] = [
  { name: 'Bailey Bayside', email: 'owner@bayside.test', accessLevel: 'Full Access', canViewHistory: true }
]

export const DEMO_SIGN_INS = [...HARBOUR_USERS, ...BAYSIDE_USERS]
  .map(u => `${u.email!.padEnd(26)} ${u.name} (${u.accessLevel}${u.canViewHistory ? ', User Action History' : ''})`)

/**
 * Two practices. Harbour Health Clinic has 45 days of activity in its
 * opening hours and took the User Action History add-on about four weeks
 * ago, then on its last open day turned auto-renew off, so its whole
 * history shows and the expiry banner (with its archive) is up.
 * One of its patients is restricted, and Riley gave a reason to open them.
 * Bayside Physio is on the free tier.
 */
export async function seedDemo (orm: MikroORM, now = new Date()): Promise<void> {
  const em = orm.em.fork() as EntityManager
  const harbour = await makePracticeGroup(em, { name: 'Harbour Health Clinic', timeZone: 'Australia/Sydney', creditBalance: 500 })
  const harbourUsers = []
  for (const values of HARBOUR_USERS) harbourUsers.push(await makeUser(em, harbour, { ...values, password: DEMO_PASSWORD }))
  const bayside = await makePracticeGroup(em, { name: 'Bayside Physio', timeZone: 'Australia/Sydney', creditBalance: 0 })
  const baysideUsers = []
  for (const values of BAYSIDE_USERS) baysideUsers.push(await makeUser(em, bayside, { ...values, password: DEMO_PASSWORD }))
  await simulateEverydayUse(em, harbour, harbourUsers, now, 45, 2026)
  await simulateEverydayUse(em, bayside, baysideUsers, now, 5, 7)
  const olivia = harbourUsers[0]!
  const actingAt = (occurredAt: Date, url: string): Actor => ({
    practiceGroupId: harbour.id, userId: olivia.id, userName: olivia.name, url, ip: '203.0.113.24', timeZone: harbour.timeZone, occurredAt
  })
  // 26 days back at the earliest, so that even after a short month the subscription is still running, with under a week left.
  await purchaseSubscription(em, DEFAULT_PLAN, actingAt(lastOpenDayAt(now, harbour.timeZone, '09:05', 26), '/settings/add-ons/subscribe'), 'demo-harbour-subscription')
  await setAutoRenew(em, actingAt(lastOpenDayAt(now, harbour.timeZone, '11:50', 1), '/settings/add-ons/auto-renew'), false)
  // The weeks above predate the practice's alerts: the alert pass starts here.
  await skipRecordsSoFar(em)
  const [owner, practitioner, namesake, reception] = harbourUsers as [User, User, User, User]
  await seedRestrictedPatient(em, harbour, olivia, reception, now)
  await seedAlertCases(em, harbour, { owner, practitioner, namesake, reception }, now)
}

/** Loads the demo practices into an empty database; returns whether it did. */
export async function seedDemoIfEmpty (orm: MikroORM): Promise<boolean> {
  if (await orm.em.fork().count(PracticeGroup, {}) > 0) return false
  await seedDemo(orm)
  return true
}
