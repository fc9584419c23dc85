import argon2 from 'argon2'

export const MIN_PASSWORD_LENGTH = 12

export function hashPassword (password: string): Promise<string> {
  return argon2.hash(password, { type: argon2.argon2id })
}

export function verifyPassword (hash: string, password: string): Promise<boolean> {
  return argon2.verify(hash, password).catch(() => false)
}

let decoyHash: Promise<string> | undefined

/** Spends the same time as a real check, so a response does not reveal whether an email is registered. */
export async function verifyAgainstDecoy (password: string): Promise<void> {
  decoyHash ??= hashPassword('decoy password that matches nothing')
  await verifyPassword(await decoyHash, password)
}
