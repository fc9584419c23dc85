/**
 * A failure to start that is already said for whoever runs the app: what
 * could not be done, why, and what to set. It is shown as one line, without
 * a stack trace, which would only bury it.
 */
export class StartUpError extends Error {}

const MAX_REASON = 300

/** What an error says, on one line; errors that only carry a code or several causes (a refused connection to every address of a host) say those. */
export function reasonOf (err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return reasonOf(err.errors[0])
  const { message, code } = (err ?? {}) as { message?: unknown, code?: unknown }
  const text = (typeof message === 'string' && message.trim() ? message : typeof code === 'string' ? code : String(err)).replace(/\s+/g, ' ').trim()
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 1)}…` : text
}

/** Runs one step of starting up; if it fails, says which step in one line, with its reason and advice. */
export async function startUpStep<T> (failure: string, advice: string, step: () => Promise<T> | T): Promise<T> {
  try {
    return await step()
  } catch (err) {
    if (err instanceof StartUpError) throw err
    throw new StartUpError(`${failure} (${reasonOf(err)}).${advice ? ` ${advice}` : ''}`, { cause: err })
  }
}
