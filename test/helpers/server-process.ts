import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { projectRoot } from '../../src/paths.js'
import { testRoles } from './app.js'

export interface ServerProcess {
  child: ChildProcess
  /** Everything it wrote so far, stdout and stderr apart. */
  stdout: () => string
  stderr: () => string
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

/**
 * Loaded into the server first: it stops the server when the test's end of
 * its stdin closes, which happens however the test process ends (even
 * killed by a timeout), so no server outlives its test.
 */
const STOP_WITH_TEST = 'data:text/javascript,process.stdin.on("end",()=>process.kill(process.pid,"SIGTERM")).resume()'

/**
 * Runs the server as `npm start` does once it is built, from `cwd`, with
 * only the variables given (and PATH): what an operator's process sees.
 * It is stopped at the end of the test if it is still running.
 */
export function spawnServer (t: Test, env: Record<string, string>, cwd = projectRoot): ServerProcess {
  const child = spawn(process.execPath, ['--import', STOP_WITH_TEST, '--import', 'tsx', 'src/server.ts'], { cwd, env: { PATH: process.env.PATH, ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', chunk => { stdout += String(chunk) })
  child.stderr.on('data', chunk => { stderr += String(chunk) })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => child.once('exit', (code, signal) => resolve({ code, signal })))
  // Stopped the way an orchestrator would, so an embedded PostgreSQL it started stops with it.
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const killed = setTimeout(() => child.kill('SIGKILL'), 30_000)
    await exited
    clearTimeout(killed)
  })
  return { child, stdout: () => stdout, stderr: () => stderr, exited }
}

/** Kills the server at once, as a crash or an orchestrator's SIGKILL would, and waits until it is gone. */
export async function killServer (server: ServerProcess): Promise<void> {
  server.child.kill('SIGKILL')
  await server.exited
}

/** The address from the start-up banner, once the server listens; fails with what it said if it exits first. */
export async function untilListening (server: ServerProcess, timeoutMs = 120_000): Promise<string> {
  const started = Date.now()
  for (;;) {
    const address = /is running at (http:\/\/\S+)/.exec(server.stdout())?.[1]
    if (address) return address
    if (server.child.exitCode !== null) throw new Error(`the server exited with ${server.child.exitCode}: ${server.stderr()}`)
    if (Date.now() - started > timeoutMs) throw new Error(`the server did not listen within ${timeoutMs} ms: ${server.stderr()}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** A port nothing listens on at the moment. */
export async function freePort (): Promise<number> {
  return new Promise(resolve => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** A directory of the test's own, removed at its end. */
export function scratchDirectory (t: Test, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * What a server on this test's database needs: the app's and keeper's
 * logins the test run made (so it changes no role other tests use), and a
 * data directory and heads directory of its own. Jobs are off unless asked.
 */
export function serverEnvironment (t: Test, databaseUrl: string, env: Record<string, string> = {}): Record<string, string> {
  const roles = testRoles(databaseUrl)
  const dataDir = scratchDirectory(t, 'practice-audit-server-')
  return {
    DATABASE_URL: databaseUrl,
    APP_DATABASE_URL: roles.app,
    KEEPER_DATABASE_URL: roles.keeper,
    DATA_DIR: dataDir,
    HEADS_DIR: join(dataDir, 'heads'),
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
    JOBS_SCHEDULE: 'off',
    SEAL_SCHEDULE: 'off',
    ...env
  }
}
