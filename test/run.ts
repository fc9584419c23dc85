/**
 * Runs every test file with tap against a real PostgreSQL: the server named
 * by DATABASE_URL, or an embedded one started for this run. Passes tap's
 * output through and ends with the line CI reads: `N passed, N failed`.
 */
import { spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Parser } from 'tap-parser'
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded-postgres.js'
import { enableRoleLogins, rolePasswords } from '../src/db/roles.js'

interface Counts { passed: number, failed: number, skipped: number }
interface AssertResult { ok: boolean, skip?: unknown, todo?: unknown }

/**
 * Counts real assertions, not the summary line each subtest (and each
 * file) adds; a subtest that failed without a failing assertion of its
 * own (a crash, a timeout) still counts as one failure.
 */
function countLeafAssertions (parser: Parser, counts: Counts): { failures: number } {
  const own = { failures: 0 }
  let lastChild: { failures: number } | undefined
  parser.on('child', (child: Parser) => { lastChild = countLeafAssertions(child, counts) })
  parser.on('assert', (result: AssertResult) => {
    const child = lastChild
    lastChild = undefined
    if (child) {
      if (!result.ok && child.failures === 0 && !result.skip && !result.todo) {
        counts.failed += 1
        own.failures += 1
      }
      own.failures += child.failures
      return
    }
    if (result.skip || result.todo) counts.skipped += 1
    else if (result.ok) counts.passed += 1
    else {
      counts.failed += 1
      own.failures += 1
    }
  })
  return own
}

async function run (): Promise<number> {
  let embedded: EmbeddedDatabase | undefined
  let dataDir: string | undefined
  const env = { ...process.env }
  if (!env.DATABASE_URL) {
    dataDir = mkdtempSync(join(tmpdir(), 'practice-audit-test-pg-'))
    // The server runs as the unprivileged postgres user when we are root.
    chmodSync(dataDir, 0o755)
    const port = 20000 + Math.floor(Math.random() * 20000)
    console.log(`# starting an embedded PostgreSQL on port ${port} for this run`)
    embedded = await startEmbeddedPostgres(join(dataDir, 'data'), port)
    env.DATABASE_URL = embedded.url
  }

  // Roles belong to the whole server: let them log in once, before the test files run in parallel.
  await enableRoleLogins(env.DATABASE_URL, rolePasswords(env.DATA_DIR ?? '.data'))

  const counts = { passed: 0, failed: 0, skipped: 0 }
  const parser = new Parser()
  countLeafAssertions(parser, counts)

  const args = ['tap', ...process.argv.slice(2)]
  const child = spawn('npx', args, { env, stdio: ['ignore', 'pipe', 'inherit'] })
  child.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk)
    parser.write(chunk)
  })
  const exitCode = await new Promise<number>(resolve => child.on('close', code => resolve(code ?? 1)))
  parser.end()

  await embedded?.stop()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })

  if (exitCode !== 0 && counts.failed === 0) counts.failed += 1
  const skipped = counts.skipped > 0 ? `, ${counts.skipped} skipped` : ''
  console.log(`${counts.passed} passed, ${counts.failed} failed${skipped}`)
  return counts.failed > 0 ? 1 : 0
}

run().then(code => process.exit(code), (err: unknown) => {
  console.error(err)
  console.log('0 passed, 1 failed')
  process.exit(1)
})
