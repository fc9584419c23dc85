import { BlockList, isIP } from 'node:net'
import { ValidationError, type FieldErrors } from '../errors.js'

export const NAME_MAX = 100
export const URL_MAX = 2000

/** What a person typed for an endpoint. */
export interface EndpointForm { name?: string, url?: string }

export interface EndpointValues { name: string, url: string }

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Addresses inside the server's own networks: a receiver there would let a practice probe them. */
const INTERNAL = new BlockList()
for (const [network, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16]] as const) {
  INTERNAL.addSubnet(network, prefix, 'ipv4')
}
for (const [network, prefix] of [['::', 127], ['fc00::', 7], ['fe80::', 10], ['::ffff:0:0', 96]] as const) INTERNAL.addSubnet(network, prefix, 'ipv6')

function internalHost (hostname: string): boolean {
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return true
  const bare = hostname.replace(/^\[|\]$/g, '')
  const family = isIP(bare)
  return family !== 0 && INTERNAL.check(bare, family === 4 ? 'ipv4' : 'ipv6')
}

/**
 * The receiver's address as it will be called, or why it cannot be: an
 * absolute https address without a user name, password or fragment. In
 * production it must lie outside the server's own networks; elsewhere
 * (`allowLocal`: development and tests) those are allowed, and plain http
 * to this computer too.
 */
export function checkEndpointUrl (typed: string, allowLocal: boolean): { url: string } | { problem: string } {
  const text = typed.trim()
  if (text === '') return { problem: 'Enter the receiver\'s address, starting with https://.' }
  if (text.length > URL_MAX) return { problem: `An address can be at most ${URL_MAX.toLocaleString('en-AU')} characters.` }
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return { problem: 'Enter a full address starting with https://, such as https://siem.example.org/practice-audit.' }
  }
  const local = allowLocal && LOOPBACK_NAMES.has(url.hostname)
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
    return { problem: url.protocol === 'http:' ? 'The address must start with https://: records are never sent unencrypted.' : 'The address must start with https://; other kinds of address are not supported.' }
  }
  if (url.username || url.password) return { problem: 'Leave user names and passwords out of the address: the shared secret proves each delivery comes from us.' }
  if (url.hash || text.includes('#')) return { problem: 'Leave out the part after #: it is never sent to the receiver.' }
  if (!allowLocal && internalHost(url.hostname)) return { problem: 'The address must be reachable on the internet, not a private or local network address.' }
  if (url.href.length > URL_MAX) return { problem: `An address can be at most ${URL_MAX.toLocaleString('en-AU')} characters.` }
  return { url: url.href }
}

/** The form's values, trimmed and checked; a ValidationError names each problem beside its field. */
export function readEndpointForm (form: EndpointForm, allowLocal: boolean): EndpointValues {
  const errors: FieldErrors = {}
  const name = (form.name ?? '').trim()
  if (name === '') errors.name = 'Give the endpoint a name, such as "Security monitoring".'
  else if (name.length > NAME_MAX) errors.name = `A name can be at most ${NAME_MAX} characters.`
  const checked = checkEndpointUrl(form.url ?? '', allowLocal)
  if ('problem' in checked) errors.url = checked.problem
  if (Object.keys(errors).length > 0) throw new ValidationError(errors)
  return { name, url: (checked as { url: string }).url }
}
