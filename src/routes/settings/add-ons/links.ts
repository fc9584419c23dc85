import type { Sentence } from '../../../domain/plan/plan-sentences.js'
import { isFullAccess, type User } from '../../../domain/users/user.entity.js'

export const ADD_ONS_PATH = '/settings/add-ons'

/** The purchase's confirmation page; with JavaScript, the add-ons page shows the same as a dialog instead. */
export const PURCHASE_PATH = `${ADD_ONS_PATH}/subscribe`

/** Where "subscribe" leads: Full Access users to the purchase itself, everyone else to the add-on's card, which says who may buy it. */
export function subscribeHref (viewer: User): string {
  return isFullAccess(viewer) ? PURCHASE_PATH : ADD_ONS_PATH
}

export interface LinkedWords { text: string, href: string | null }

/** A sentence as `partials/linked-sentence` prints it: the words about subscribing link to `href`, or to nothing when it is null. */
export function linkedSentence (sentence: Sentence, href: string | null): LinkedWords[] {
  return sentence.map(part => ({ text: part.text, href: part.subscribe ? href : null }))
}
