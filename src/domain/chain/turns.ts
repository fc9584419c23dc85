import { setImmediate } from 'node:timers/promises'

/**
 * How many records sealing and verifying handle before they let the
 * server answer what arrived meanwhile: a few milliseconds of hashing.
 * Both run inside the web server, and a batch of records already read
 * would otherwise be hashed in one stretch of tens of milliseconds, with
 * every other request on the instance waiting behind it.
 */
export const RECORDS_PER_TURN = 500

/** Lets requests and timers that are waiting run before a long pass goes on. */
export async function letOthersRun (): Promise<void> {
  await setImmediate()
}
