import t from 'tap'
import { nextEntry } from '../../src/domain/chain/chain-encoding.js'

// Hashes worked out when chains were first written, with each id and time turned into a BigInt: every chain in use was hashed that way.
t.test('chain entries hash as every existing chain was hashed, whatever the size of their ids and times', async t => {
  const seal = nextEntry(null, {
    practiceGroupId: 42, kind: 'seal', createdAt: '2026-12-03T10:00:00.123456Z',
    recordIds: [1, 4294967295, 4294967296, 9007199254740991], recordDigests: Buffer.alloc(128, 7),
    recordTimes: [0, 1796292000123456, 4294967296, 1], cutoff: null
  })
  t.equal(seal.hash.toString('hex'), 'fb5fdfc4d321af11e3748791699a5ff27c23fa4a5cc2ff635c4187257bde3b3b', 'a seal')
  const checkpoint = nextEntry(seal, {
    practiceGroupId: 42, kind: 'checkpoint', createdAt: '2027-02-01T00:00:00.000000Z', recordIds: [1, 4294967296], recordDigests: null, recordTimes: null, cutoff: '2026-12-31T00:00:00.000000Z'
  })
  t.equal(checkpoint.hash.toString('hex'), '9cb3549762de381fef71a262b2d96e74328805a647c6893d1b1dd7e5c177c90d', 'a retention checkpoint after it')
})
