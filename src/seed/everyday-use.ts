import type { EntityManager } from '@mikro-orm/postgresql'
import type { Actor } from '../domain/audit-records/record.js'
import { recordEvent } from '../domain/recorder/recorder.js'
import { appointmentKind } from '../domain/appointments/appointment.kind.js'
import { invoiceKind } from '../domain/invoices/invoice.kind.js'
import { patientKind } from '../domain/patients/patient.kind.js'
import type { PracticeGroup } from '../domain/practice-groups/practice-group.entity.js'
import type { PracticeRecord, PracticeRecordKind } from '../domain/practice-records/practice-record-kind.js'
import { createRecord, getRecord, recordView, updateRecord } from '../domain/practice-records/practice-records.service.js'
import { inputValue } from '../domain/practice-records/fields.js'
import { localIsoDate, toLocalInput } from '../domain/time/zoned.js'
import type { User } from '../domain/users/user.entity.js'
import { addDays, atMinute, clinicDay, nextOpenDay, openDaysSince } from './clinic-hours.js'

const FIRST_NAMES = ['Ava', 'Noah', 'Mia', 'Leo', 'Isla', 'Oscar', 'Ruby', 'Hugo', 'Zara', 'Kai', 'Aiko', 'Mateo', 'Ngaio', 'Sione', 'Amira', 'Lachlan']
const LAST_NAMES = ['Nguyen', 'Smith', 'Patel', "O'Brien", 'Kowalski', 'Tanaka', 'Williams', 'Haddad', 'García', 'Brown', 'Chen', 'Taufa']
const REASONS = ['Initial consultation', 'Follow-up consultation', 'Physiotherapy session', 'Health assessment', 'Review of results']

/** A small seeded generator, so every demo database tells the same story. */
export function seededRandom (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

interface Story {
  em: EntityManager
  group: PracticeGroup
  users: User[]
  random: () => number
  ips: string[]
}

const pick = <T>(random: () => number, items: T[]): T => items[Math.floor(random() * items.length)]!

function actorAt (story: Story, user: User, when: Date, url: string): Actor {
  return {
    practiceGroupId: story.group.id, userId: user.id, userName: user.name, url,
    ip: story.ips[story.users.indexOf(user) % story.ips.length]!, timeZone: story.group.timeZone, occurredAt: when
  }
}

function asForm (kind: PracticeRecordKind, values: Record<string, unknown>, timeZone: string): Record<string, string> {
  return Object.fromEntries(kind.fields.map(f => [f.name, inputValue(f, values[f.name], timeZone)]))
}

async function createPatients (story: Story, count: number, when: Date): Promise<PracticeRecord[]> {
  const patients: PracticeRecord[] = []
  for (let i = 0; i < count; i++) {
    const name = `${pick(story.random, FIRST_NAMES)} ${pick(story.random, LAST_NAMES)}`
    const year = 1940 + Math.floor(story.random() * 70)
    const body = {
      name,
      dateOfBirth: `${year}-${String(1 + Math.floor(story.random() * 12)).padStart(2, '0')}-${String(1 + Math.floor(story.random() * 28)).padStart(2, '0')}`,
      phone: `04${String(Math.floor(story.random() * 1e8)).padStart(8, '0')}`,
      email: `${name.toLowerCase().replace(/[^a-z]+/g, '.')}@example.test`,
      notes: ''
    }
    const creator = story.users[i % story.users.length]!
    patients.push(await story.em.transactional(em => createRecord(em, patientKind, actorAt(story, creator, when, '/patients'), creator, body)))
  }
  return patients
}

const APPOINTMENT_MINUTES = 30

/** Start times every `step` minutes from `first` to `last`, inclusive, as minutes after midnight. */
function everyMinutes (first: number, last: number, step: number): number[] {
  const times: number[] = []
  for (let minute = first; minute <= last; minute += step) times.push(minute)
  return times
}

/**
 * A quarter-hour start on an open day 1 to 10 days after `date`, early
 * enough that the appointment ends, and is marked Completed, before the
 * clinic closes or breaks for lunch.
 */
function appointmentStart (story: Story, date: string): Date {
  let day = clinicDay(addDays(date, 1 + Math.floor(story.random() * 10)))
  if (day.periods.length === 0) day = nextOpenDay(day.date)
  const starts = day.periods.flatMap(p => everyMinutes(p.opens, p.closes - APPOINTMENT_MINUTES - 15, 15))
  return atMinute(day.date, pick(story.random, starts), story.group.timeZone)
}

/** A status an appointment takes once its moment has passed: Arrived as it starts, Completed as it ends. */
interface StatusChange { at: Date, by: User, appointmentId: number, status: 'Arrived' | 'Completed' }

/** Applies, in time order, the status changes whose moment has come by `until`. */
async function applyStatusChangesUntil (story: Story, due: StatusChange[], until: Date): Promise<void> {
  const tz = story.group.timeZone
  while (due.length > 0 && due[0]!.at <= until) {
    const change = due.shift()!
    const url = `/appointments/${change.appointmentId}`
    await story.em.transactional(async tx => {
      const appointment = await getRecord(tx, appointmentKind, story.group.id, change.appointmentId)
      await updateRecord(tx, appointmentKind, actorAt(story, change.by, change.at, url), change.by, change.appointmentId, { ...asForm(appointmentKind, appointment, tz), status: change.status })
    })
  }
}

/** Books an appointment (and sometimes moves it at once); it is marked Arrived and Completed when those moments come. */
async function bookAppointment (story: Story, user: User, patient: PracticeRecord, when: Date, due: StatusChange[]): Promise<void> {
  const { em, group } = story
  const tz = group.timeZone
  const practitioner = pick(story.random, story.users.filter(u => u.accessLevel !== 'Reception'))
  let startsAt = appointmentStart(story, localIsoDate(when, tz))
  const body = { patientId: String(patient.id), practitionerId: String(practitioner.id), startsAt: toLocalInput(startsAt, tz), durationMinutes: String(APPOINTMENT_MINUTES), status: 'Booked', notes: pick(story.random, REASONS) }
  const appointment = await em.transactional(tx => createRecord(tx, appointmentKind, actorAt(story, user, when, '/appointments'), user, body))
  if (story.random() < 0.5) {
    startsAt = appointmentStart(story, localIsoDate(when, tz))
    const moved = { ...asForm(appointmentKind, appointment, tz), startsAt: toLocalInput(startsAt, tz) }
    await em.transactional(tx => updateRecord(tx, appointmentKind, actorAt(story, user, new Date(when.getTime() + 60_000), `/appointments/${appointment.id}`), user, appointment.id, moved))
  }
  const desk = story.users.find(u => u.accessLevel === 'Reception') ?? user
  due.push(
    { at: startsAt, by: desk, appointmentId: appointment.id, status: 'Arrived' },
    { at: new Date(startsAt.getTime() + APPOINTMENT_MINUTES * 60_000), by: practitioner, appointmentId: appointment.id, status: 'Completed' }
  )
  due.sort((a, b) => a.at.getTime() - b.at.getTime())
}

/**
 * About `days` days of a clinic's ordinary work in its opening hours, in
 * its own time zone, written through the same services and recorder as the
 * app: sign-ins, patients opened, appointments booked, moved, attended and
 * completed, invoices raised and paid. Something happens in each half hour
 * the clinic is open, up to `now`.
 */
export async function simulateEverydayUse (em: EntityManager, group: PracticeGroup, users: User[], now: Date, days: number, seed: number): Promise<void> {
  const story: Story = { em, group, users, random: seededRandom(seed), ips: ['203.0.113.24', '203.0.113.57', '198.51.100.12', '2001:db8::4a'] }
  const tz = group.timeZone
  const openDays = openDaysSince(now, days, tz)
  const patients = await createPatients(story, 24, atMinute(openDays[0]!.date, openDays[0]!.periods[0]!.opens, tz))
  const due: StatusChange[] = []

  for (const day of openDays) {
    const halfHours = day.periods.flatMap(p => everyMinutes(p.opens, p.closes - 30, 30))
    for (const [step, slot] of halfHours.entries()) {
      const when = new Date(atMinute(day.date, slot, tz).getTime() + Math.floor(story.random() * 20) * 60_000)
      if (when > now) return await applyStatusChangesUntil(story, due, now)
      await applyStatusChangesUntil(story, due, when)
      const user = pick(story.random, users)
      const patient = pick(story.random, patients)
      const roll = story.random()
      if (step === 0) {
        await recordEvent(em, actorAt(story, user, when, '/login'), { action: 'login', page: 'Sign in', recordType: 'user', recordId: user.id, description: `${user.name} signed in` })
      } else if (roll < 0.45) {
        await recordView(em, patientKind, actorAt(story, user, when, `/patients/${patient.id}`), patient)
      } else if (roll < 0.7) {
        await bookAppointment(story, user, patient, when, due)
      } else if (roll < 0.85 && user.accessLevel !== 'Practitioner') {
        const body = { patientId: String(patient.id), issueDate: localIsoDate(when, tz), description: pick(story.random, REASONS), amountCents: String(80 + Math.floor(story.random() * 120)), status: 'Issued' }
        const invoice = await em.transactional(tx => createRecord(tx, invoiceKind, actorAt(story, user, when, '/invoices'), user, body))
        if (story.random() < 0.6) {
          await em.transactional(tx => updateRecord(tx, invoiceKind, actorAt(story, user, new Date(when.getTime() + 120_000), `/invoices/${invoice.id}`), user, invoice.id, { ...asForm(invoiceKind, invoice, tz), status: 'Paid' }))
        }
      } else {
        await recordEvent(em, actorAt(story, user, when, '/settings/users'), { action: 'view', page: 'Settings > Users', description: 'Viewed the list of users' })
      }
    }
  }
  await applyStatusChangesUntil(story, due, now)
}
