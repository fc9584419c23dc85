import t from 'tap'
import { describeVerification } from '../../src/domain/chain/describe-verification.js'
import type { ChainVerification } from '../../src/domain/chain/chain-verifier.js'

const SYDNEY = 'Australia/Sydney'

/** A verification as the verifier answers it: intact, 741 records from 6 October, sealing begun weeks later, signed. */
const intact: ChainVerification = {
  intact: true, verified: 741, deleted: 0, awaitingSeal: 0, entries: 12,
  since: '2026-11-02T01:03:00.123456Z', oldestVerified: '2026-10-05T22:30:00.000001Z',
  head: 'ab'.repeat(32), problems: 0, firstProblem: null,
  signedHead: { seq: 12, at: '2026-11-25T03:00:00.000Z', records: 741, sources: ['the database', 'the heads file'] },
  unsignedEntries: 0, otherKeyHeads: 0, moves: []
}

t.test('when the history is intact, then the headline says how many records are as recorded since the oldest checked, not since sealing began', async t => {
  const words = describeVerification(intact, SYDNEY)
  t.equal(words.headline, 'All 741 records since 06/10/2026 09:30 are exactly as recorded.')
  t.same(words.notes, [])
  t.match(words.details.join('\n'), 'Checked against the chain head signed on 25/11/2026 14:00, which vouches for 741 sealed records (kept in the database and the heads file).')
  t.match(words.details.join('\n'), '741 records matched their seals in 12 chain entries, the first written on 02/11/2026 12:03.')
  t.equal(words.head, 'ab'.repeat(32))
})

t.test('when records wait for their seal or retention deleted some, then the notes say so in plain words', async t => {
  const words = describeVerification({ ...intact, awaitingSeal: 3, deleted: 1 }, SYDNEY)
  t.same(words.notes, [
    '3 newer records are not included yet: records can be checked about a minute after they are written.',
    '1 older record was deleted under the retention rules; each deletion is accounted for.'
  ])
  t.equal(describeVerification({ ...intact, verified: 1 }, SYDNEY).headline, 'The 1 record since 06/10/2026 09:30 is exactly as recorded.')
})

t.test('when nothing is sealed yet, then it says nothing could be checked yet rather than that all is well', async t => {
  const nothing = { ...intact, verified: 0, oldestVerified: null, since: null, entries: 0, signedHead: null }
  t.equal(describeVerification({ ...nothing, awaitingSeal: 5 }, SYDNEY).headline, 'None of the 5 records can be checked yet: records can be checked about a minute after they are written.')
  t.same(describeVerification({ ...nothing, awaitingSeal: 5 }, SYDNEY).notes, [])
  t.equal(describeVerification(nothing, SYDNEY).headline, 'There are no records to check yet.')
})

t.test('when the chain is broken, then the headline warns, the notes say what to do and the details give the first problem', async t => {
  const words = describeVerification({
    ...intact, intact: false, verified: 740, problems: 2, firstProblem: { seq: 4, recordId: 99, message: 'Record #99 (2026-11-20 01:00 UTC) differs from what entry #4 sealed: it was changed after it was recorded.' }
  }, SYDNEY)
  t.equal(words.headline, 'The history is not exactly as recorded: something was changed, removed or added outside the app.')
  t.match(words.notes.join(' '), '740 records still match what was recorded. Keep this result and tell whoever looks after your server')
  t.equal(words.details[0], 'First problem: Record #99 (2026-11-20 01:00 UTC) differs from what entry #4 sealed: it was changed after it was recorded.')
  t.equal(words.details[1], '1 more problem after it.')
})
