import type { Test } from 'tap'

/**
 * Catches what would end the server process: an exception nobody caught or
 * a rejection nobody handled. `survives` settles with the request it
 * watches, or fails at once with the error that would have ended the
 * process, instead of hanging on a reply that never comes.
 */
export function watchForCrash (t: Test): { survives: <T>(request: Promise<T>) => Promise<T> } {
  let fail: (err: unknown) => void = () => {}
  const crashed = new Promise<never>((_resolve, reject) => { fail = reject })
  crashed.catch(() => {})
  const onCrash = (err: unknown): void => fail(new Error(`the request would have ended the process: ${(err as Error)?.message ?? String(err)}`))
  process.prependListener('uncaughtException', onCrash)
  process.prependListener('unhandledRejection', onCrash)
  t.teardown(() => {
    process.removeListener('uncaughtException', onCrash)
    process.removeListener('unhandledRejection', onCrash)
  })
  return { survives: async request => Promise.race([request, crashed]) }
}
