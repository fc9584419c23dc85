/** Small formatting helpers available to every template as `it.helpers`. */
export const viewHelpers = {
  /** "1,234" */
  count (n: number): string {
    return new Intl.NumberFormat('en-AU').format(n)
  },
  yesNo (value: boolean): string {
    return value ? 'Yes' : 'No'
  }
}
