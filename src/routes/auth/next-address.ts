/**
 * The origin a `next` address is resolved against. It stands for this site
 * whatever host name it is reached by; `.invalid` can never be a real host,
 * so only a path (or a full address naming this placeholder) resolves to it.
 */
const THIS_SITE = 'http://practice-audit.invalid'

/**
 * Control characters (C0 and DEL). The URL parser drops tab, CR and LF
 * without a trace, which is how `/\t/evil.example` is read as
 * `//evil.example`; no address a person follows holds any of them.
 */
const CONTROL_CHARACTER = /[\u0000-\u001F\u007F]/

/** `text` as the URL parser reads it against this site, if it stays on this site. */
function onThisSite (text: string): URL | null {
  try {
    const url = new URL(text, THIS_SITE)
    return url.origin === THIS_SITE ? url : null
  } catch {
    return null
  }
}

/**
 * Where to go after sign-in: `next` as the WHATWG URL parser reads it
 * against this site, re-serialised as path, query and fragment (so it is
 * always ASCII and a valid Location header), and only when it stays on this
 * site. Anything else (another origin, a scheme such as `javascript:`,
 * control characters, a path a browser would read as another host) leads
 * to the home page.
 */
export function safeNext (next: string | undefined): string {
  if (!next || CONTROL_CHARACTER.test(next)) return '/'
  const parsed = onThisSite(next)
  if (!parsed) return '/'
  const address = parsed.pathname + parsed.search + parsed.hash
  // `/.//evil.example` parses on this site but serialises as `//evil.example`: read again, it must land on the same address.
  return onThisSite(address)?.href === parsed.href ? address : '/'
}
