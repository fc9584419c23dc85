import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'

const TOKEN_PATTERNS = [/name="_csrf" value="([^"]+)"/, /"x-csrf-token": "([^"]+)"/]

/** The CSRF token a page gives its forms and htmx requests, if it has one. */
export function csrfTokenIn (page: string): string | null {
  for (const pattern of TOKEN_PATTERNS) {
    const match = pattern.exec(page)
    if (match) return match[1]!
  }
  return null
}

/**
 * A user's browser for `app.inject`: keeps cookies, and sends the CSRF
 * token from the last page it saw with each form, as a real form would.
 */
export class Agent {
  readonly cookies = new Map<string, string>()
  csrfToken = ''

  constructor (private readonly app: FastifyInstance, private readonly ip = '203.0.113.10') {}

  private remember (response: LightMyRequestResponse): LightMyRequestResponse {
    for (const cookie of response.cookies) {
      const expired = cookie.expires && new Date(cookie.expires).getTime() <= Date.now()
      if (expired || cookie.value === '') this.cookies.delete(cookie.name)
      else this.cookies.set(cookie.name, cookie.value)
    }
    this.csrfToken = csrfTokenIn(response.body) ?? this.csrfToken
    return response
  }

  get cookieHeader (): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  /**
   * Tests change the database straight before a request, faster than any
   * person clicks; a request waits, as a person would, until those changes
   * have reached the app's kept sessions (see SignedInChangeListener).
   */
  private async inject (options: InjectOptions): Promise<LightMyRequestResponse> {
    await this.app.signedInChanges.caughtUp()
    return this.remember(await this.app.inject(options))
  }

  async get (url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    return this.inject({ method: 'GET', url, remoteAddress: this.ip, headers: { cookie: this.cookieHeader, ...headers } })
  }

  async post (url: string, form: Record<string, string> = {}, { csrf = true, headers = {} as Record<string, string> } = {}): Promise<LightMyRequestResponse> {
    const body = new URLSearchParams(csrf ? { _csrf: this.csrfToken, ...form } : form).toString()
    return this.inject({
      method: 'POST',
      url,
      remoteAddress: this.ip,
      payload: body,
      headers: { cookie: this.cookieHeader, 'content-type': 'application/x-www-form-urlencoded', ...headers }
    })
  }

  async signIn (email: string, password: string): Promise<LightMyRequestResponse> {
    await this.get('/login')
    return this.post('/login', { email, password })
  }
}

export const PASSWORD = 'correct horse battery staple'

/** An agent signed in and looking at a page, so it holds the new session's CSRF token as a person would. */
export async function signedInAgent (app: FastifyInstance, email: string, ip?: string): Promise<Agent> {
  const agent = new Agent(app, ip)
  await agent.signIn(email, PASSWORD)
  await agent.get('/settings/users')
  return agent
}
