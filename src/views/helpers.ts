const numbers = new Intl.NumberFormat('en-AU')

/** Small formatting helpers available to every template as `it.helpers`. */
export const viewHelpers = {
  /** "1,234" */
  count (n: number): string {
    return numbers.format(n)
  },
  yesNo (value: boolean): string {
    return value ? 'Yes' : 'No'
  }
}
