import { hostname } from 'node:os'
import type { FastifyInstance } from 'fastify'
import { Cron } from 'croner'
import { claimTick } from '../../domain/ticks/claimed-ticks.js'

/** How this instance signs the ticks it claims: enough for an operator to find it. */
const INSTANCE = `${hostname()}:${process.pid}`

export interface PassOptions {
  /**
   * Run each tick on one of the app's instances only: the first to claim
   * it under this name in `claimed_ticks`. Without it, every instance runs
   * every tick.
   */
  oncePerTickAs?: string
}

/**
 * The time the schedule named for a pass whose timer fired at `firedAt`:
 * its latest occurrence up to then. A timer never fires early, so every
 * instance names a tick alike however late its own timer fired, while the
 * instances' clocks agree to within one interval.
 */
export function tickOf (job: Cron, firedAt: Date): Date {
  // croner counts only occurrences before its reference; a millisecond on includes one at exactly `firedAt`.
  return job.previousRuns(1, new Date(firedAt.getTime() + 1))[0] ?? firedAt
}

/** Whether this instance runs `tick`; a tick that cannot be claimed (the database is away) is left to the next. */
async function claimed (app: FastifyInstance, task: string, tick: Date): Promise<boolean> {
  try {
    if (!await claimTick(app.keeperOrm.em.fork(), task, tick, INSTANCE)) return false
  } catch (err) {
    app.log.error({ err, task }, 'a scheduled tick could not be claimed')
    return false
  }
  app.log.debug({ task, tick }, 'scheduled tick runs here')
  return true
}

/**
 * Runs `pass` on a cron pattern from the moment the app is ready, never two
 * at once. Closing the app stops the schedule and waits for a running pass
 * to reach its end (within the shutdown's grace period), so the pools are
 * not closed under it; the signal tells a long pass to stop at its next
 * safe point.
 */
export function schedulePasses (app: FastifyInstance, pattern: string, pass: (stopping: AbortSignal) => Promise<void>, { oncePerTickAs }: PassOptions = {}): void {
  const stopping = new AbortController()
  let running: Promise<void> | null = null
  const job = new Cron(pattern, { protect: true, paused: true }, async () => {
    const tick = tickOf(job, new Date())
    running = (async () => {
      if (oncePerTickAs && !await claimed(app, oncePerTickAs, tick)) return
      if (!stopping.signal.aborted) await pass(stopping.signal)
    })()
    try {
      await running
    } finally {
      running = null
    }
  })
  app.addHook('onReady', async () => { job.resume() })
  app.addHook('onClose', async () => {
    job.stop()
    stopping.abort()
    if (running) await app.shutdown.beforeDeadline(running)
  })
}
