import t from 'tap'
import pg from 'pg'
import { readsAsInet } from '../../src/domain/history/inet-text.js'

const CURATED = [
  '1.2.3.4', '01.2.3.4', '1.2.3.004', '00.0.0.0', '255.255.255.255', '1.2.3.256', '1.2.3', '1.2', '1', '', '0x01020304', '1.2.3.4.', '1..2.3.4', '1.2.3.4.5',
  '1.2.3.4/24', '1.2.3.4/024', '1.2.3.4/0', '1.2.3.4/00', '1.2.3.4/32', '1.2.3.4/33', '1.2.3.4/', '1.2.3.4/+8', '1.2.3.4/-1', '1.2.3.4/ 8', '1.2.3.4/32.0',
  '1.2.3/24', '1.2.3/25', '1.2.3/32', '1/8', '1/7', '1/9', '10.1/16', '1.2.3.4/4294967297', '1.2.3.4/4294967295', '1.2.3.4/4294967328', '1.2.3.4/000000000000000000000000000000008',
  ' 1.2.3.4', '1.2.3.4 ', '١.٢.٣.٤', '１.2.3.4',
  '::', '::1', '::1/128', '::1/129', '::1/0128', '::/0', '::1/00', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::', '1:2:3:4:5:6:7::8', '1:2:3:4:5:6:7:8::',
  '1::2::3', ':1::2', '1::2:', '00000::1', '0001::1', 'fe80::', 'fe80::1%eth0', 'FE80::1', '[::1]', 'g::1', '::ffff:1.2.3.4', '::FFFF:1.2.3.4', '::ffff:01.2.3.4',
  '::ffff:1.2.3.04', '::ffff:1.2.3', '::1.2.3.4', '::1.2.3.4.', '::1.2./24', '::1..2', '::1.2.3.4/00', '::ffff:1.2.3.4/0', '::ffff:10.1.2.0/120', '1:2:3:4:5:6:1.2.3.4',
  '1:2:3:4:5:6:7:1.2.3.4', '::1234.1.1.1', '::12345', '2001:db8::/32', '2001:db8::5'
]

/** Strings a person might type, and strings made of the characters that matter to the grammar. */
function generated (count: number): string[] {
  let state = 0x9e3779b9
  const random = (): number => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 4294967296
  }
  const alphabet = ['0', '1', '2', '5', '9', '00', '25', '255', '256', 'a', 'f', 'F', 'ffff', 'g', ':', '::', '.', '/', '%', ' ', 'x', '12', '128', '129', '32', '33']
  const out: string[] = []
  for (let i = 0; i < count; i++) {
    const length = 1 + Math.floor(random() * 12)
    let text = ''
    for (let j = 0; j < length; j++) text += alphabet[Math.floor(random() * alphabet.length)]
    out.push(text)
  }
  for (const base of CURATED) {
    for (let k = 0; k < 6 && base.length > 0; k++) {
      const at = Math.floor(random() * base.length)
      const insert = alphabet[Math.floor(random() * alphabet.length)]!
      const mode = Math.floor(random() * 3)
      out.push(mode === 0 ? base.slice(0, at) + base.slice(at + 1) : mode === 1 ? base.slice(0, at) + insert + base.slice(at) : base.slice(0, at) + insert + base.slice(at + 1))
    }
  }
  return out
}

t.test("when any text is offered as an IP filter, then it is accepted exactly when PostgreSQL's inet reads it", async t => {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL })
  await client.connect()
  t.teardown(() => client.end())
  await client.query(`create function pg_temp.reads_as_inet (value text) returns boolean language plpgsql as $$
    begin perform value::inet; return true; exception when invalid_text_representation then return false; end $$`)
  const texts = [...new Set([...CURATED, ...generated(4000)])]
  const { rows } = await client.query<{ text: string, accepted: boolean }>('select text, pg_temp.reads_as_inet(text) as accepted from unnest($1::text[]) as text', [texts])
  const disagreements = rows.filter(row => row.accepted !== readsAsInet(row.text)).map(row => `${JSON.stringify(row.text)}: PostgreSQL ${row.accepted ? 'accepts' : 'refuses'} it`)
  t.same(disagreements, [], `${rows.length} texts compared`)
  t.ok(rows.filter(row => row.accepted).length > 100, 'many of them are addresses')
})
