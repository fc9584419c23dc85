/*
 * Counts in words. English has two forms, chosen by the language's own
 * rule rather than `n === 1`, and numbers are written as the app writes
 * them everywhere ("1,234").
 */

const rules = new Intl.PluralRules('en')
const numbers = new Intl.NumberFormat('en-AU')

/** "1,234" */
export function formatNumber (n: number): string {
  return numbers.format(n)
}

/** The form for this many: plural(1, 'active user', 'active users') is "active user". */
export function plural (n: number, one: string, other: string): string {
  return rules.select(n) === 'one' ? one : other
}

/** The number and the form for it: counted(1234, 'record', 'records') is "1,234 records". */
export function counted (n: number, one: string, other: string): string {
  return `${formatNumber(n)} ${plural(n, one, other)}`
}
