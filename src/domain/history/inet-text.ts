/**
 * PostgreSQL's own reading of `inet` text (network_in and inet_net_pton.c),
 * rule for rule, quirks included: IPv4 octets may have leading zeros and
 * a network may be shortened (10.1/16), but an IPv4 address inside IPv6 may
 * not (::ffff:01.2.3.4). A filter this accepts is one the database reads
 * the same way; anything else gets a message instead of a failed query.
 */

const isDigit = (ch: string | undefined): ch is string => ch !== undefined && ch >= '0' && ch <= '9'
const isHexDigit = (ch: string): boolean => /^[0-9a-fA-F]$/.test(ch)

/** The database does this arithmetic in a 32-bit int that wraps around, so "/4294967297" is "/1". */
const appendDigit = (value: number, digit: string): number => (Math.imul(value, 10) + Number(digit)) | 0

/** A prefix length after an IPv6 address: 0 to 128, no leading zeros. */
const isIpv6PrefixLength = (text: string): boolean => /^(0|[1-9][0-9]{0,2})$/.test(text) && Number(text) <= 128

/** The IPv4 tail of an IPv6 address, with any prefix length: at most four octets (missing ones are 0), no leading zeros. */
function isEmbeddedIpv4 (text: string): boolean {
  let octets = 0
  let value = 0
  let digits = 0
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (isDigit(ch)) {
      if (digits++ !== 0 && value === 0) return false
      value = value * 10 + Number(ch)
      if (value > 255) return false
      continue
    }
    if ((ch !== '.' && ch !== '/') || octets > 3) return false
    octets++
    if (ch === '/') return isIpv6PrefixLength(text.slice(i + 1))
    value = 0
    digits = 0
  }
  return digits > 0 && octets <= 3
}

function readsAsIpv6 (text: string): boolean {
  const size = 16
  let i = 0
  if (text[0] === ':' && text[++i] !== ':') return false
  let tokenStart = i
  let written = 0
  let sawGap = false
  let sawDigit = false
  let digits = 0
  while (i < text.length) {
    const ch = text[i++]!
    if (isHexDigit(ch)) {
      if (++digits > 4) return false
      sawDigit = true
      continue
    }
    if (ch === ':') {
      tokenStart = i
      if (!sawDigit) {
        if (sawGap) return false
        sawGap = true
        continue
      }
      if (i === text.length || written + 2 > size) return false
      written += 2
      sawDigit = false
      digits = 0
      continue
    }
    if (ch === '.' && written + 4 <= size && isEmbeddedIpv4(text.slice(tokenStart))) {
      written += 4
      sawDigit = false
      break
    }
    if (ch === '/' && isIpv6PrefixLength(text.slice(i))) break
    return false
  }
  if (sawDigit) {
    if (written + 2 > size) return false
    written += 2
  }
  if (sawGap) {
    if (written === size) return false
    written = size
  }
  return written === size
}

function readsAsIpv4 (text: string): boolean {
  let i = 0
  let octets = 0
  let ch = text[i++]
  while (isDigit(ch)) {
    let value = 0
    do {
      value = value * 10 + Number(ch)
      if (value > 255) return false
      ch = text[i++]
    } while (isDigit(ch))
    if (octets === 4) return false
    octets++
    if (ch === undefined || ch === '/') break
    if (ch !== '.') return false
    ch = text[i++]
  }
  let bits = -1
  if (ch === '/' && isDigit(text[i]) && octets > 0) {
    ch = text[i++]
    bits = 0
    do {
      bits = appendDigit(bits, ch)
      ch = text[i++]
    } while (isDigit(ch))
    if (ch !== undefined || bits > 32) return false
  }
  if (ch !== undefined) return false
  if (bits === -1) {
    if (octets !== 4) return false
    bits = 32
  }
  if (octets === 0 || Math.trunc(bits / 8) > octets) return false
  return bits >= 0
}

/** Whether PostgreSQL accepts the text as an `inet` value. */
export function readsAsInet (text: string): boolean {
  return text.includes(':') ? readsAsIpv6(text) : readsAsIpv4(text)
}
