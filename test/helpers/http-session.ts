import { csrfTokenIn } from './agent.js'

export interface HttpAnswer {
  status: number
  body: string
  location: string | null
}

/**
 * One browser's session over real HTTP: a cookie jar and the CSRF token of
 * the last page seen, sent to whichever app server a request names, as a
 * load balancer without sticky sessions would.
 */
export class HttpSession {
  private readonly cookies = new Map<string, string>()
  private csrfToken = ''

  get cookieHeader (): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  private remember (response: Response, body: string): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';')
      const at = pair.indexOf('=')
      const name = pair.slice(0, at).trim()
      const value = pair.slice(at + 1).trim()
      const expires = attributes.map(a => /^\s*expires=(.*)$/i.exec(a)?.[1]).find(Boolean)
      if (value === '' || (expires && new Date(expires).getTime() <= Date.now())) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    this.csrfToken = csrfTokenIn(body) ?? this.csrfToken
  }

  private async send (server: string, path: string, init: RequestInit = {}): Promise<HttpAnswer> {
    const response = await fetch(`${server}${path}`, {
      ...init,
      redirect: 'manual',
      headers: { cookie: this.cookieHeader, ...init.headers as Record<string, string> }
    })
    const body = await response.text()
    this.remember(response, body)
    return { status: response.status, body, location: response.headers.get('location') }
  }

  async get (server: string, path: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    return this.send(server, path, { headers })
  }

  async post (server: string, path: string, form: Record<string, string>): Promise<HttpAnswer> {
    return this.send(server, path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: this.csrfToken, ...form }).toString()
    })
  }

  async signIn (server: string, email: string, password: string): Promise<HttpAnswer> {
    await this.get(server, '/login')
    return this.post(server, '/login', { email, password })
  }
}
