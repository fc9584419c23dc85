import type { EntityManager } from '@mikro-orm/core'
import { sqlIn } from '../../db/sql.js'
import { countDeniedSince } from '../audit-records/alert-reads.js'
import { ValidationError } from '../errors.js'
import { boundary } from '../history/date-ranges.js'
import { formatIsoDate, isRealIsoDate, localIsoDate } from '../time/zoned.js'
import { checkNote, countAlertsSince } from './alert-store.js'

/** A Full Access user's statement that they reviewed the history up to the end of a date. */
export interface AccessReview {
  id: number
  reviewedUpTo: string
  reviewedByName: string
  note: string
  createdAt: Date
}

export const REVIEWS_LISTED = 20

/** The practice's reviews, newest first. */
export async function listReviews (em: EntityManager, practiceGroupId: number, limit = REVIEWS_LISTED): Promise<AccessReview[]> {
  const rows = await sqlIn(em)<Record<string, unknown>>(
    `select id, to_char(reviewed_up_to, 'YYYY-MM-DD') as reviewed_up_to, reviewed_by_name, note, created_at from access_reviews
      where practice_group_id = ? order by created_at desc, id desc limit ?`, [practiceGroupId, limit])
  return rows.map(row => ({
    id: Number(row.id), reviewedUpTo: String(row.reviewed_up_to), reviewedByName: String(row.reviewed_by_name),
    note: String(row.note), createdAt: new Date(row.created_at as string)
  }))
}

export interface SinceReview {
  alerts: number
  denied: number
}

/** What has happened since the end of the last reviewed date (since the start, before any review). */
export async function arrivedSince (em: EntityManager, practiceGroupId: number, last: AccessReview | undefined, timeZone: string): Promise<SinceReview> {
  const since = last ? boundary(last.reviewedUpTo, timeZone, 'to') : null
  const [alerts, denied] = await Promise.all([countAlertsSince(em, practiceGroupId, since), countDeniedSince(em, practiceGroupId, since)])
  return { alerts, denied }
}

export interface ReviewInput { reviewedUpTo: string, note: string }

/** Checks and stores a review in the caller's transaction; the date is the practice's own and no later than today. */
export async function markReviewed (
  em: EntityManager, practiceGroupId: number, by: { id: number, name: string }, input: ReviewInput, timeZone: string, now: Date
): Promise<AccessReview> {
  const date = input.reviewedUpTo.trim()
  const today = localIsoDate(now, timeZone)
  if (!isRealIsoDate(date)) throw new ValidationError({ reviewedUpTo: 'Choose the date the review covers, such as 2026-11-25.' })
  if (date > today) throw new ValidationError({ reviewedUpTo: `A review cannot cover days still to come: choose ${formatIsoDate(today)} or earlier.` })
  const [last] = await listReviews(em, practiceGroupId, 1)
  if (last && date < last.reviewedUpTo) {
    throw new ValidationError({ reviewedUpTo: `The history is already reviewed up to ${formatIsoDate(last.reviewedUpTo)}: choose that date or a later one.` })
  }
  const note = checkNote(input.note)
  const [row] = await sqlIn(em)<{ id: number }>(
    'insert into access_reviews (practice_group_id, reviewed_up_to, reviewed_by, reviewed_by_name, note, created_at) values (?, ?, ?, ?, ?, ?) returning id',
    [practiceGroupId, date, by.id, by.name, note, now])
  return { id: row!.id, reviewedUpTo: date, reviewedByName: by.name, note, createdAt: now }
}
