import t from 'tap'
import { seededRandom } from '../../src/seed/everyday-use.js'
import { wholeNumbers } from '../../src/domain/chain/chain-encoding.js'

const random = seededRandom(20261202)

t.test('an id or time list reads back as PostgreSQL printed it', async t => {
  t.same(wholeNumbers('{}'), [])
  t.same(wholeNumbers('{7}'), [7])
  t.same(wholeNumbers('{1,22,333}'), [1, 22, 333])
  t.same(wholeNumbers('{-5,0,1798761600000000}'), [-5, 0, 1_798_761_600_000_000])
})

t.test('property: 2,000 random lists of whole numbers up to 2^53 read back unchanged', async t => {
  for (let i = 0; i < 2000; i++) {
    const list = Array.from({ length: Math.floor(random() * 50) }, () => {
      const magnitude = Math.floor(random() * Number.MAX_SAFE_INTEGER / 10 ** Math.floor(random() * 16))
      return random() < 0.1 ? -magnitude : magnitude
    })
    const read = wholeNumbers(`{${list.join(',')}}`)
    if (read.length !== list.length || read.some((n, j) => n !== list[j])) {
      t.fail(`{${list.join(',')}} read as ${JSON.stringify(read)}`)
      return
    }
  }
  t.pass('all read back')
})
