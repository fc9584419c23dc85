/** Small formatting helpers available to every template as `it.helpers`. */
export const viewHelpers = {
  /** "1,234" */
  count (n: number): string {
    return new Intl.NumberFormat('en-AU').format(n)
  },
  /** "25/11/2026 10:00" in the practice's time zone. */
  dateTime (value: Date | string, timeZone: string): string {
    const parts = new Intl.DateTimeFormat('en-AU', {
      timeZone, day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23'
    }).formatToParts(new Date(value))
    const get = (type: string): string => parts.find(p => p.type === type)?.value ?? ''
    return `${get('day')}/${get('month')}/${get('year')} ${get('hour')}:${get('minute')}`
  },
  yesNo (value: boolean): string {
    return value ? 'Yes' : 'No'
  }
}
