import { counted, formatNumber, plural } from '../plural.js'

/** Small formatting helpers available to every template as `it.helpers`. */
export const viewHelpers = {
  /** "1,234" */
  count: formatNumber,
  /** "1 patient", "1,234 patients" */
  counted,
  /** The form of a word for this many */
  plural,
  yesNo (value: boolean): string {
    return value ? 'Yes' : 'No'
  }
}
