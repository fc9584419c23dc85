import type { FastifyRequest } from 'fastify'

/** The page of the address htmx says the browser is showing, so the reason leads back to the page rather than to its fragment. */
function shownPage (request: FastifyRequest): string | null {
  const current = request.headers['hx-current-url']
  if (typeof current !== 'string') return null
  try {
    const url = new URL(current)
    return url.pathname + url.search
  } catch {
    return null
  }
}

/** Where a request for a restricted patient's records is sent to give a reason, and back to what was asked for after it. */
export function reasonPageFor (patientId: number, request: FastifyRequest): string {
  const next = request.method === 'GET' ? (request.isHtmx ? shownPage(request) : null) ?? request.url : `/patients/${patientId}`
  return `/patients/${patientId}/break-glass?${new URLSearchParams({ next })}`
}
