import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import type { FastifyInstance } from 'fastify'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/**
 * Whether browser tests can run. Without Chromium they are skipped loudly
 * on a developer's machine; in CI (CI=true) that is a failure.
 */
export function chromiumAvailable (t: Test): boolean {
  if (existsSync(CHROMIUM)) return true
  const message = `Chromium not found at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`
  if (process.env.CI === 'true') t.fail(message)
  else {
    console.error(`\n*** BROWSER TESTS SKIPPED: ${message} ***\n`)
    t.pass(message, { skip: true })
  }
  return false
}

/** Serves the app on a loopback port for a real browser. */
export async function listen (app: FastifyInstance): Promise<string> {
  return app.listen({ port: 0, host: '127.0.0.1' })
}

export interface BrowserOptions {
  javaScriptEnabled?: boolean
}

/** A fresh headless Chromium profile, closed when the test ends. */
export async function openBrowser (t: Test, options: BrowserOptions = {}): Promise<{ context: BrowserContext, page: Page }> {
  const profile = mkdtempSync(join(tmpdir(), 'practice-audit-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    javaScriptEnabled: options.javaScriptEnabled ?? true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  t.teardown(async () => {
    await context.close()
    rmSync(profile, { recursive: true, force: true })
  })
  const page = context.pages()[0] ?? await context.newPage()
  page.setDefaultTimeout(15_000)
  return { context, page }
}

export async function signInWithBrowser (page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/login`)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Sign in' }).click()])
  await page.waitForURL(url => !url.pathname.startsWith('/login'))
}
