import { createHash, sign, verify } from 'node:crypto'
import type { ChainKey } from './chain-key.js'

/** What a signed head vouches for: one practice's chain, at one position, at one time. */
export interface HeadFacts {
  practice: number
  /** The chain position of the head. */
  seq: number
  /** The chain entry's hash there, in hex. */
  head: string
  /** Records sealed into the chain up to and including that entry. */
  records: number
  /** When it was signed (ISO 8601, UTC). */
  at: string
  /** The previous signed head's digest (`headDigest`), or null for the practice's first. */
  previous: string | null
  /** The signing key's fingerprint. */
  key: string
}

/** The exact text that was signed, with its signature: how a head is stored, filed and handed out. */
export interface SignedHead {
  payload: string
  signature: Buffer
}

const FORMAT = 1
const HEX64 = /^[0-9a-f]{64}$/

/** The text to sign: a JSON object with its fields always in this order, so the same facts make the same bytes. */
export function headPayload (facts: HeadFacts): string {
  const { practice, seq, head, records, at, previous, key } = facts
  return JSON.stringify({ v: FORMAT, practice, seq, head, records, at, previous, key })
}

export function signHead (key: ChainKey, facts: HeadFacts): SignedHead {
  if (!key.privateKey) throw new Error('this chain key can only check signatures')
  const payload = headPayload(facts)
  return { payload, signature: sign(null, Buffer.from(payload, 'utf8'), key.privateKey) }
}

/** A signed head's own digest, which the next signed head names as `previous`. */
export function headDigest (payload: string): string {
  return createHash('sha256').update(payload, 'utf8').digest('hex')
}

function isCount (value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0
}

/** The payload's facts if it is a well-formed head of this format, or null. */
export function parsePayload (payload: string): HeadFacts | null {
  let value: Record<string, unknown>
  try {
    value = JSON.parse(payload) as Record<string, unknown>
  } catch {
    return null
  }
  if (typeof value !== 'object' || value === null || value.v !== FORMAT) return null
  const { practice, seq, head, records, at, previous, key } = value
  if (!isCount(practice) || !isCount(seq) || seq < 1 || !isCount(records)) return null
  if (typeof head !== 'string' || !HEX64.test(head) || typeof key !== 'string' || !HEX64.test(key)) return null
  if (typeof at !== 'string' || Number.isNaN(Date.parse(at))) return null
  if (previous !== null && (typeof previous !== 'string' || !HEX64.test(previous))) return null
  const facts = { practice, seq, head, records, at, previous, key }
  // Anything else in the object, or another spelling of the same facts, would not be what was signed.
  return headPayload(facts) === payload ? facts : null
}

export type HeadReading =
  | { valid: true, facts: HeadFacts }
  | { valid: false, why: 'malformed' | 'other key' | 'bad signature', facts: HeadFacts | null }

/** Checks a signed head with the public key: well formed, made with this key, and signed by it. */
export function readSignedHead (key: ChainKey, signed: SignedHead): HeadReading {
  const facts = parsePayload(signed.payload)
  if (!facts) return { valid: false, why: 'malformed', facts: null }
  if (facts.key !== key.fingerprint) return { valid: false, why: 'other key', facts }
  const ok = signed.signature.length === 64 && verify(null, Buffer.from(signed.payload, 'utf8'), key.publicKey, signed.signature)
  return ok ? { valid: true, facts } : { valid: false, why: 'bad signature', facts }
}
