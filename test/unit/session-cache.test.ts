import t from 'tap'
import { SessionCache, type SessionRead } from '../../src/domain/sessions/session-cache.js'

function readOf (userId: number, practiceGroupId: number, expiresAt = 10_000): SessionRead {
  return { json: JSON.stringify({ data: { userId, practiceGroupId }, rows: {} }), expiresAt, userId, practiceGroupId }
}

function trustedCache (): { cache: SessionCache, advance: (ms: number) => void } {
  let now = 0
  const cache = new SessionCache(() => now)
  cache.trust()
  return { cache, advance: ms => { now += ms } }
}

t.test('a kept read is used until the session expires by its own clock', async t => {
  const { cache } = trustedCache()
  cache.keep('a', cache.beginRead(), readOf(1, 1, 5_000))
  t.ok(cache.lookup('a', 4_999))
  t.equal(cache.lookup('a', 5_000), null)
})

t.test('nothing is kept or used for longer than a minute, notices or not', async t => {
  const { cache, advance } = trustedCache()
  cache.keep('a', cache.beginRead(), readOf(1, 1))
  advance(59_000)
  t.ok(cache.lookup('a', 0))
  advance(2_000)
  t.equal(cache.lookup('a', 0), null)
})

t.test('without notices nothing is kept, and losing them forgets everything', async t => {
  const cache = new SessionCache(() => 0)
  cache.keep('a', cache.beginRead(), readOf(1, 1))
  t.equal(cache.lookup('a', 0), null, 'not trusted yet')
  cache.trust()
  cache.keep('a', cache.beginRead(), readOf(1, 1))
  t.ok(cache.lookup('a', 0))
  cache.distrust()
  t.equal(cache.lookup('a', 0), null)
  cache.trust()
  t.equal(cache.lookup('a', 0), null, 'trusting again starts from nothing')
})

t.test('a read that was under way when anything was forgotten is not kept', async t => {
  const { cache } = trustedCache()
  const startedAt = cache.beginRead()
  cache.forgetSession('b')
  cache.keep('a', startedAt, readOf(1, 1))
  t.equal(cache.lookup('a', 0), null)
  cache.keep('a', cache.beginRead(), readOf(1, 1))
  t.ok(cache.lookup('a', 0), 'a read begun afterwards is')
})

t.test('forgetting a practice or a user drops only their sessions', async t => {
  const { cache } = trustedCache()
  cache.keep('owner', cache.beginRead(), readOf(1, 10))
  cache.keep('reception', cache.beginRead(), readOf(2, 10))
  cache.keep('elsewhere', cache.beginRead(), readOf(3, 20))
  cache.forgetUser(2)
  t.equal(cache.lookup('reception', 0), null)
  t.ok(cache.lookup('owner', 0))
  cache.forgetPractice(10)
  t.equal(cache.lookup('owner', 0), null)
  t.ok(cache.lookup('elsewhere', 0))
})
