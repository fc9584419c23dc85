import t from 'tap'
import { loadConfig, trustedProxies } from '../../src/config.js'

t.test('when nothing is set, then development defaults apply', async t => {
  const config = loadConfig({})
  t.equal(config.PORT, 3000)
  t.equal(config.NODE_ENV, 'development')
  t.equal(trustedProxies(config), false)
})

t.test('when production has no SESSION_SECRET, then start-up fails with a clear message', async t => {
  t.throws(() => loadConfig({ NODE_ENV: 'production' }), { message: /SESSION_SECRET must be set/ })
})

t.test('when SESSION_SECRET is shorter than 32 characters, then start-up fails naming it', async t => {
  t.throws(() => loadConfig({ NODE_ENV: 'production', SESSION_SECRET: 'too-short' }), { message: /fewer than 32 characters/ })
  t.throws(() => loadConfig({ SESSION_SECRET: 'too-short' }), { message: /SESSION_SECRET/ })
})

t.test('when a number or a URL is malformed, then the message names the variable', async t => {
  t.throws(() => loadConfig({ PORT: 'eighty' }), { message: /PORT/ })
  t.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), { message: /DATABASE_URL/ })
  t.throws(() => loadConfig({ NODE_ENV: 'staging' }), { message: /NODE_ENV/ })
})

t.test('when TRUST_PROXY lists addresses, then only those proxies are trusted', async t => {
  t.same(trustedProxies(loadConfig({ TRUST_PROXY: '10.0.0.1, 10.0.1.0/24' })), ['10.0.0.1', '10.0.1.0/24'])
})

t.test('when production names no chain signing key, then start-up fails saying how to make one', async t => {
  const secret = 'a-production-secret-of-at-least-32-chars'
  t.throws(() => loadConfig({ NODE_ENV: 'production', SESSION_SECRET: secret }), { message: /CHAIN_SIGNING_KEY must name the Ed25519 private key.*openssl genpkey -algorithm ed25519/ })
  t.equal(loadConfig({ NODE_ENV: 'production', SESSION_SECRET: secret, CHAIN_SIGNING_KEY: '/keys/chain.pem' }).CHAIN_SIGNING_KEY, '/keys/chain.pem')
})

t.test('when SHUTDOWN_GRACE_SECONDS is not set, then a stop waits up to 20 seconds; a negative or fractional one is refused by name', async t => {
  t.equal(loadConfig({}).SHUTDOWN_GRACE_SECONDS, 20)
  t.equal(loadConfig({ SHUTDOWN_GRACE_SECONDS: '0' }).SHUTDOWN_GRACE_SECONDS, 0, 'zero: requests in flight are cut at once')
  for (const value of ['-1', '2.5', 'soon']) t.throws(() => loadConfig({ SHUTDOWN_GRACE_SECONDS: value }), { message: /SHUTDOWN_GRACE_SECONDS/ }, value)
})

t.test('when EMBEDDED_PG_DIR is relative, then start-up refuses it by name', async t => {
  t.equal(loadConfig({}).EMBEDDED_PG_DIR, '/var/lib/practice-audit')
  t.throws(() => loadConfig({ EMBEDDED_PG_DIR: 'var/lib' }), { message: /EMBEDDED_PG_DIR/ })
})
