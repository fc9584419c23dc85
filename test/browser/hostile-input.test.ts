import t from 'tap'
import { build } from '../helpers/app.js'
import { chromiumAvailable, listen, openBrowser, signInWithBrowser } from '../helpers/browser.js'
import { makeClinic } from '../helpers/clinic.js'
import { Agent, PASSWORD } from '../helpers/agent.js'

const HOSTILE = ['<script>window.__pwned = 1</script>', '<img src=x onerror="window.__pwned = 2">', '<a hx-get="/logout" hx-trigger="load" hx-swap="outerHTML">x</a>', '"><svg onload="window.__pwned = 3">']

if (chromiumAvailable(t)) {
  const ctx = await build(t)
  const clinic = await makeClinic(ctx.em())
  const agent = new Agent(ctx.app)
  await agent.signIn(clinic.owner.email, PASSWORD)
  await agent.get('/patients')
  const ids: string[] = []
  for (const text of HOSTILE) {
    const response = await agent.post('/patients', { name: text, notes: text })
    ids.push(/\/patients\/(\d+)/.exec(String(response.headers.location))![1]!)
  }
  const baseUrl = await listen(ctx.app)

  t.test('when hostile names and notes are shown in a browser, then no script runs, no dialog opens and htmx stays still', async t => {
    const { page } = await openBrowser(t)
    let dialogs = 0
    page.on('dialog', dialog => { dialogs += 1; void dialog.dismiss() })
    await signInWithBrowser(page, baseUrl, clinic.owner.email, PASSWORD)
    for (const id of ids) {
      await page.goto(`${baseUrl}/patients/${id}`)
      await page.waitForTimeout(200)
      t.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined)
    }
    await page.goto(`${baseUrl}/patients`)
    t.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined)
    t.equal(dialogs, 0)
    t.match(await page.locator('.details').first().textContent().catch(() => '') ?? '', '', 'page rendered')
    await page.goto(`${baseUrl}/patients/${ids[2]}`)
    t.ok(await page.getByText('hx-get="/logout"').first().isVisible(), 'the htmx attribute shows as text')
    t.equal(new URL(page.url()).pathname, `/patients/${ids[2]}`, 'still signed in: nothing triggered a sign-out')
  })
}
