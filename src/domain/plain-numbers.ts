/** PostgreSQL's `integer`, the type of every id. */
export const MAX_ID = 2_147_483_647

const DIGITS = /^(0|[1-9][0-9]*)$/

/**
 * A whole number from `min` to `max` written in plain digits, or null: no
 * sign, leading zero, exponent, hexadecimal, spaces or other scripts'
 * digits, so "1e2", "0x10", " 1" and "01" are not numbers here as they
 * are to JavaScript's Number().
 */
export function parseWholeNumber (text: string, min: number, max: number): number | null {
  if (text.length > String(max).length || !DIGITS.test(text)) return null
  const value = Number(text)
  return value >= min && value <= max ? value : null
}

/** An id as it appears in an address or a form: 1 to MAX_ID in plain digits. */
export function parseId (text: string): number | null {
  return parseWholeNumber(text, 1, MAX_ID)
}
