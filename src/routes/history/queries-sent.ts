/**
 * Lets the queries of `work` go out before the caller does work of its own:
 * the page's layout is worked out while the database counts and reads,
 * instead of after. Sending a query takes a few promise steps, all done
 * before the next turn of the event loop. A failure of `work` is left to
 * whoever awaits it later.
 */
export async function queriesSent (work: Promise<unknown>): Promise<void> {
  work.catch(() => {})
  await new Promise(resolve => setImmediate(resolve))
}
