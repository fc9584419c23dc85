import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { readOrMakeOnce } from '../../made-once.js'

/** The key that signs chain heads. It lives in a file, never in the database whose history it vouches for. */
export interface ChainKey {
  /** Null where heads are only checked, as with a receipt's public key. */
  privateKey: KeyObject | null
  publicKey: KeyObject
  publicKeyPem: string
  /** SHA-256 of the public key in DER form, in hex: what `openssl pkey -pubin -outform DER | sha256sum` prints. */
  fingerprint: string
}

export class ChainKeyError extends Error {}

/** Where the embedded database's key is made and kept when no CHAIN_SIGNING_KEY is given. */
export const GENERATED_KEY_FILE = 'chain-signing-key.pem'

function withPublicKey (privateKey: KeyObject | null, publicKey: KeyObject): ChainKey {
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new ChainKeyError(`the key is ${publicKey.asymmetricKeyType ?? 'not an asymmetric key'}, not Ed25519`)
  const der = publicKey.export({ type: 'spki', format: 'der' })
  return {
    privateKey,
    publicKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    fingerprint: createHash('sha256').update(der).digest('hex')
  }
}

export function signingKeyFromPem (pem: string): ChainKey {
  const privateKey = createPrivateKey(pem)
  return withPublicKey(privateKey, createPublicKey(privateKey))
}

export function publicKeyFromPem (pem: string): ChainKey {
  return withPublicKey(null, createPublicKey(pem))
}

function newSigningKeyPem (): string {
  return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
}

/**
 * The configured signing key (CHAIN_SIGNING_KEY, a PEM file), or one made
 * once under the data directory. A key that cannot be read or is not
 * Ed25519 stops start-up with a message that says which file and why.
 */
export function loadSigningKey (keyFile: string | undefined, dataDir: string): ChainKey {
  const file = keyFile ?? join(dataDir, GENERATED_KEY_FILE)
  try {
    return signingKeyFromPem(keyFile ? readFileSync(keyFile, 'utf8') : readOrMakeOnce(file, newSigningKeyPem))
  } catch (err) {
    throw new ChainKeyError(`The chain signing key ${file} cannot be used: ${(err as Error).message}. CHAIN_SIGNING_KEY must name an Ed25519 private key in PEM form (openssl genpkey -algorithm ed25519).`)
  }
}

/** The fingerprint as people compare it: eight groups of eight. */
export function spacedFingerprint (fingerprint: string): string {
  return fingerprint.match(/.{1,8}/g)!.join(' ')
}
