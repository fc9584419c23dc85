import type { FastifyInstance } from 'fastify'
import { Cron } from 'croner'

/**
 * Runs `pass` on a cron pattern from the moment the app is ready, never two
 * at once. Closing the app stops the schedule and waits for a running pass
 * to reach its end (within the shutdown's grace period), so the pools are
 * not closed under it; the signal tells a long pass to stop at its next
 * safe point.
 */
export function schedulePasses (app: FastifyInstance, pattern: string, pass: (stopping: AbortSignal) => Promise<void>): void {
  const stopping = new AbortController()
  let running: Promise<void> | null = null
  const job = new Cron(pattern, { protect: true, paused: true }, async () => {
    running = pass(stopping.signal)
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
