/** The one source of "now"; tests move it to cross month ends, DST changes and expiries. */
export interface Clock {
  now: () => Date
}

export const systemClock: Clock = { now: () => new Date() }

/** A clock that stands still until told to move. */
export class ManualClock implements Clock {
  private current: Date

  constructor (start: Date | string = new Date()) {
    this.current = new Date(start)
  }

  now (): Date {
    return new Date(this.current)
  }

  set (to: Date | string): void {
    this.current = new Date(to)
  }

  advance (milliseconds: number): void {
    this.current = new Date(this.current.getTime() + milliseconds)
  }
}
