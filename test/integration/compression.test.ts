import t from 'tap'
import http from 'node:http'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { build } from '../helpers/app.js'
import { signedInAgent } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { addRecord } from '../helpers/history.js'

const ctx = await build(t)
ctx.clock.set('2026-11-25T03:00:00Z')
const clinic = await makeClinic(ctx.em())
const owner = await signedInAgent(ctx.app, clinic.owner.email)
const baseUrl = await ctx.app.listen({ port: 0, host: '127.0.0.1' })

const htmxFile = readFileSync(join(dirname(createRequire(import.meta.url).resolve('htmx.org')), 'htmx.min.js'))

interface Download { status: number, encoding: string | undefined, vary: string, wire: Buffer, body: Buffer }

/** A GET over a real connection, as a browser sends it: the bytes as they came, and as the browser reads them. */
async function download (path: string, acceptEncoding?: string): Promise<Download> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { cookie: owner.cookieHeader }
    if (acceptEncoding) headers['accept-encoding'] = acceptEncoding
    http.get(`${baseUrl}${path}`, { headers }, response => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('error', reject)
      response.on('end', () => {
        const wire = Buffer.concat(chunks)
        const encoding = response.headers['content-encoding']
        const body = encoding === 'gzip' ? gunzipSync(wire) : encoding === 'br' ? brotliDecompressSync(wire) : wire
        resolve({ status: response.statusCode ?? 0, encoding, vary: String(response.headers.vary ?? ''), wire, body })
      })
    }).on('error', reject)
  })
}

t.test('when the browser accepts gzip or br, pages and htmx come compressed; when it does not, they come as they are', async t => {
  for (const encoding of ['gzip', 'br']) {
    const page = await download('/settings/users/history', encoding)
    t.equal(page.status, 200)
    t.equal(page.encoding, encoding, `the page comes as ${encoding}`)
    t.match(page.vary.toLowerCase(), 'accept-encoding')
    t.match(page.body.toString(), /^<!doctype html>[\s\S]*User Action History[\s\S]*<\/html>\s*$/, 'and reads as the whole page')
    t.ok(page.wire.length < page.body.length / 3, `${page.wire.length} bytes sent for ${page.body.length}`)

    const htmx = await download('/vendor/htmx/htmx.min.js', encoding)
    t.equal(htmx.encoding, encoding, `htmx comes as ${encoding}`)
    t.ok(htmx.body.equals(htmxFile), 'and is htmx, byte for byte')
    t.ok(htmx.wire.length < 20_000, `${htmx.wire.length} bytes sent for ${htmxFile.length}`)
  }
  // An htmx fragment is a response of its own: the browser asks with the same header.
  const fragment = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get(`${baseUrl}/settings/users/history?sort=user&dir=asc`, { headers: { cookie: owner.cookieHeader, 'hx-request': 'true', 'accept-encoding': 'gzip, deflate, br' } }, resolve).on('error', reject)
  })
  fragment.resume()
  t.equal(fragment.headers['content-encoding'], 'br', 'a fragment too, in the encoding a browser prefers')
  t.match(String(fragment.headers.vary), /HX-Request/i, 'still varying by HX-Request')

  for (const accept of [undefined, 'identity']) {
    const page = await download('/settings/users/history', accept)
    t.equal(page.encoding, undefined, `no encoding when the client accepts ${accept ?? 'nothing said'}`)
    t.match(page.body.toString(), /^<!doctype html>[\s\S]*<\/html>\s*$/)
    const htmx = await download('/vendor/htmx/htmx.min.js', accept)
    t.equal(htmx.encoding, undefined)
    t.ok(htmx.wire.equals(htmxFile), 'htmx as it is')
  }

  const stylesheet = await download('/public/app.css', 'gzip')
  t.equal(stylesheet.encoding, 'gzip', 'the stylesheet too')
})

t.test('a CSV export far larger than one chunk streams whole when compressed, row for row the same as uncompressed', async t => {
  const records = 1500
  for (let i = 0; i < records; i++) {
    await addRecord(ctx.em(), clinic.practitioner, {
      at: new Date(Date.parse('2026-11-24T00:00:00Z') + i * 1000), description: `Streamed export row ${String(i).padStart(4, '0')}: opened the patient's notes and the referral letter`
    })
  }
  const path = `/settings/users/history/export.csv?user=${clinic.practitioner.id}&sort=description&dir=asc`
  const plain = await download(path)
  t.equal(plain.status, 200)
  t.equal(plain.encoding, undefined)
  const lines = plain.body.toString().trimEnd().split(/\r?\n/)
  t.equal(lines.length, 1 + records, 'a header and every record')
  t.match(lines[lines.length - 1], `Streamed export row ${records - 1}`, 'down to the last')
  t.ok(plain.body.length > 200_000, `${plain.body.length} bytes, streamed rather than compressed in one piece`)
  for (const encoding of ['gzip', 'br']) {
    const compressed = await download(path, encoding)
    t.equal(compressed.status, 200)
    t.equal(compressed.encoding, encoding)
    t.ok(compressed.body.equals(plain.body), `as ${encoding}, the same CSV byte for byte`)
    t.ok(compressed.wire.length < plain.body.length / 4, `${compressed.wire.length} bytes sent for ${plain.body.length}`)
  }
})
