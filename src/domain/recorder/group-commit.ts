interface Waiting<Row> {
  row: Row
  resolve: () => void
  reject: (err: unknown) => void
}

/** Told about every batch written: how many rows, how long the statement and its commit took, and whether they were kept. */
export type BatchObserver = (rows: number, seconds: number, committed: boolean) => void

/**
 * An error PostgreSQL reported for the statement (severity ERROR, with a
 * SQLSTATE), after which nothing of it was kept. A lost connection or a
 * FATAL leaves that unknown.
 */
function rolledBack (err: unknown): boolean {
  const reported = err as { severity?: unknown, code?: unknown } | null
  return reported?.severity === 'ERROR' && typeof reported.code === 'string'
}

/**
 * Group commit for rows whose callers are in no transaction of their own: while
 * one insert is on its way, rows that arrive wait and then go together, one
 * statement and one commit for all of them. A row that arrives when nothing
 * is in flight goes at once, so a quiet server adds no delay; a busy one
 * saves a round trip and a commit per row. Each caller's promise settles
 * when its own row is committed or has failed.
 *
 * If PostgreSQL rejects a batch, nothing of it was kept, so each row is
 * tried again alone: one bad row does not fail its neighbours. Any other
 * error (a lost connection) may have come after the commit, so it is
 * passed to every caller of the batch rather than risk recording twice.
 */
export class GroupCommit<Row> {
  private waiting: Waiting<Row>[] = []
  private flushing = false
  private whenSettled: Array<() => void> = []

  constructor (
    private readonly insert: (rows: Row[]) => Promise<void>,
    private readonly maxRows: number,
    private readonly observe?: BatchObserver
  ) {}

  add (row: Row): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ row, resolve, reject })
      if (!this.flushing) void this.flush()
    })
  }

  /** Resolves once every row added so far is committed or has failed: nothing waits and nothing is on its way. */
  settled (): Promise<void> {
    if (!this.flushing) return Promise.resolve()
    return new Promise(resolve => this.whenSettled.push(resolve))
  }

  private async flush (): Promise<void> {
    this.flushing = true
    try {
      while (this.waiting.length) await this.write(this.waiting.splice(0, this.maxRows))
    } finally {
      this.flushing = false
      for (const resolve of this.whenSettled.splice(0)) resolve()
    }
  }

  private async write (batch: Waiting<Row>[]): Promise<void> {
    const started = performance.now()
    const seconds = (): number => (performance.now() - started) / 1000
    try {
      await this.insert(batch.map(w => w.row))
    } catch (err) {
      this.observe?.(batch.length, seconds(), false)
      if (batch.length === 1 || !rolledBack(err)) {
        for (const w of batch) w.reject(err)
        return
      }
      for (const w of batch) await this.write([w])
      return
    }
    this.observe?.(batch.length, seconds(), true)
    for (const w of batch) w.resolve()
  }
}
