import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { DataSetSize } from './generate.js'
import type { CaseResult } from './history-cases.js'
import { ms, type RelationSize, type Stats } from './measure.js'
import { browserSection, type BrowserTimes } from './browser.js'

/** Where the generated report ends; what follows it in the file was written by hand and is kept when the report is written again. */
export const END_OF_GENERATED = '<!-- end of generated report -->'

export const TARGETS = {
  fragmentP95Ms: 50,
  overheadRatio: 2,
  overheadMs: 2,
  recordingMs: 1,
  viewsPerSecond: 1000,
  loadSeconds: 60,
  serverRssMb: 300,
  recordsPerSecond: 150_000,
  flatMemoryMb: 50,
  bytesPerRecord: 800,
  exportRatio: 2,
  retentionReadP95Ms: 100,
  browserSettledP50Ms: 100
} as const

/** A process's memory while it worked: resident MB before, and the most it reached. */
export interface Memory { before: number, peak: number }

export interface ReportInput {
  started: Date
  size: DataSetSize
  generationMs: number
  largestRecords: number
  version: string
  machine: { cpu: string, memory: string }
  warmUpRounds: number
  results: CaseResult[]
  live: { results: CaseResult[], inserted: number, seconds: number, perSecond: number, analyzedAfterSeconds: number }
  roundTrips: { awake: Stats, afterIdle: Stats }
  recordingOn: Stats
  recordingOff: Stats
  pageTimes: Stats
  load: { seconds: number, requestsPerSecond: number, served: number, recorded: number, errors: number, latencyP50: number, latencyP99: number }
  /** CPU seconds, user and system, that the load phase took in the app server and in the PostgreSQL server; null where the processes could not be read. */
  loadCpu: { app: number, postgres: number | null }
  rssMax: number
  retention: { deleted: number, seconds: number, reads: Stats, sealingSeconds: number }
  sealing: { ms: number, records: number, memory: Memory, longestStallMs: number }
  storage: RelationSize[]
  casesByIndex: Map<string, string[]>
  verification: { seconds: number, verified: number, awaitingSeal: number, intact: boolean, memory: Memory, longestStallMs: number }
  exportResult: { appSeconds: number, copySeconds: number, megabytes: number, rssBefore: number, rssPeak: number }
  browser: { times: BrowserTimes, when: Date, machine: string, load: string }
}

const verdict = (met: boolean): string => met ? 'met' : '**missed**'
const mb = (bytes: number, digits = 0): string => `${(bytes / 2 ** 20).toLocaleString('en-AU', { minimumFractionDigits: digits, maximumFractionDigits: digits })} MB`
const perSecond = (n: number): string => n.toLocaleString('en-AU', { maximumFractionDigits: 0 })
const fragmentMet = (x: CaseResult): boolean => x.app.p95 <= TARGETS.fragmentP95Ms
const overheadMet = (x: CaseResult): boolean => x.app.p50 <= Math.max(TARGETS.overheadRatio * x.sql.p50, x.sql.p50 + TARGETS.overheadMs)
const flat = (m: Memory): boolean => m.peak - m.before < TARGETS.flatMemoryMb
/** Sealing and verifying run inside the web server: while they hash without a break, its other requests wait. */
const stallNote = (ms: number): string => `the longest it went without a turn for other work: ${ms.toFixed(0)} ms`
const memoryNote = (m: Memory): string => `${m.before.toFixed(0)} MB before, peak ${m.peak.toFixed(0)} MB: ${flat(m) ? 'flat' : '**not flat**'} (grew ${(m.peak - m.before).toFixed(0)} MB; flat is under ${TARGETS.flatMemoryMb} MB)`

const storageTotal = (storage: RelationSize[]): number =>
  storage.reduce((sum, t) => sum + t.heap + t.toast + t.indexes.reduce((s, i) => s + i.bytes, 0), 0)

function caseTable (results: CaseResult[]): string {
  const rows = results.map(x => `| ${x.name} | ${ms(x.app.p50)} | ${ms(x.app.p95)} | ${ms(x.app.max)} | ${ms(x.sql.p50)} | ${ms(x.sql.p95)} | ${(x.app.p50 / x.sql.p50).toFixed(1)}× | ${fragmentMet(x) ? 'yes' : '**no**'} | ${overheadMet(x) ? 'yes' : '**no**'} |`)
  return `| Case | App p50 | App p95 | App max | SQL p50 | SQL p95 | App ÷ SQL (p50) | p95 ≤ ${TARGETS.fragmentP95Ms} ms | Overhead ≤ ${TARGETS.overheadRatio}× or +${TARGETS.overheadMs} ms |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}`
}

function casesTargets (results: CaseResult[], where: string): string[] {
  const fast = results.filter(fragmentMet).length
  const close = results.filter(overheadMet).length
  return [
    `History fragment p95 ≤ ${TARGETS.fragmentP95Ms} ms in every case, text filters included, ${where}: ${fast} of ${results.length}, ${verdict(fast === results.length)}.`,
    `App overhead ≤ ${TARGETS.overheadRatio}× raw SQL or +${TARGETS.overheadMs} ms at p50, ${where}: ${close} of ${results.length}, ${verdict(close === results.length)}.`
  ]
}

/** The cases an index serves, as the plans name them, a sort in both directions as one; all of them when it serves every one. */
function servedBy (cases: string[] | undefined, all: number): string {
  if (!cases?.length) return 'none of the history cases'
  if (cases.length === all) return `all ${all} history cases`
  const both = (asc: string): boolean => asc.endsWith(' asc') && cases.includes(asc) && cases.includes(`${asc.slice(0, -4)} desc`)
  return cases
    .filter(name => !(name.endsWith(' desc') && both(`${name.slice(0, -5)} asc`)))
    .map(name => both(name) ? `${name.slice(0, -4)} asc and desc` : name)
    .join('; ')
}

/** Bytes per record on disk, the rows, their TOAST and every index, table by table and index by index, after VACUUM ANALYZE. */
export function storageSection (storage: RelationSize[], records: number, casesByIndex?: Map<string, string[]>, caseCount = 0): string {
  const total = storageTotal(storage)
  const lines = storage.map(t => {
    const indexes = t.indexes.reduce((s, i) => s + i.bytes, 0)
    return `| ${t.table} | ${mb(t.heap)} | ${mb(t.toast)} | ${mb(indexes)} (${t.indexes.length}) | ${((t.heap + t.toast + indexes) / records).toFixed(0)} B |`
  })
  const indexLines = storage.flatMap(t => t.indexes.map(i => {
    const kind = i.primary ? ' (primary key)' : i.unique ? ' (unique)' : ''
    const serves = casesByIndex ? ` | ${servedBy(casesByIndex.get(i.name), caseCount)}` : ''
    return `| ${t.table} | ${i.name}${kind} | ${mb(i.bytes, 1)} | ${(i.bytes / records).toFixed(1)} B${serves} |`
  }))
  const servesHeading = casesByIndex ? ' | History cases it serves |\n|---|---|---|---|---|' : ' |\n|---|---|---|---|'
  return `After the load, the seal and the first signed heads, measured with \`pg_relation_size\` after \`VACUUM ANALYZE\`: **${(total / records).toFixed(0)} bytes per record** in all (${mb(total)} for ${records.toLocaleString()} records).

| Table | Rows | TOAST | Indexes | Per record |
|---|---|---|---|---|
${lines.join('\n')}

Every index, largest first within its table${casesByIndex ? '. The cases each one serves are read from PostgreSQL\'s plans (`EXPLAIN (FORMAT JSON)`) of every history case\'s count and page queries in this run; an index serves a case when either query reads it. An index no case names serves other work (sealing, alerts, retention, a constraint) or none' : ''}.

| Table | Index | Size | Per record${servesHeading}
${indexLines.join('\n')}`
}

function targetsSection (r: ReportInput): string {
  const recordingCost = r.recordingOn.p50 - r.recordingOff.p50
  const lost = r.load.served - r.load.recorded
  const longEnough = r.load.seconds >= TARGETS.loadSeconds
  const sealingRate = r.sealing.records / (r.sealing.ms / 1000)
  const verifyingRate = r.verification.verified / r.verification.seconds
  const bytesPerRecord = storageTotal(r.storage) / r.size.records
  const lines = [
    ...casesTargets(r.results, 'after VACUUM ANALYZE'),
    ...casesTargets(r.live.results, 'while records arrive, not vacuumed'),
    `Recording a view adds ≤ ${TARGETS.recordingMs} ms: ${ms(recordingCost)} ms, ${verdict(recordingCost <= TARGETS.recordingMs)}.`,
    `Sustained load ≥ ${perSecond(TARGETS.viewsPerSecond)} recorded views/s for ${TARGETS.loadSeconds} s, none lost: ${perSecond(r.load.requestsPerSecond)} views/s for ${r.load.seconds} s, ${lost > 0 ? `${lost} lost` : 'none lost'}, ${verdict(r.load.requestsPerSecond >= TARGETS.viewsPerSecond && lost <= 0 && longEnough)}${longEnough ? '' : ` (this run's load phase was shorter than ${TARGETS.loadSeconds} s)`}.`,
    `Server RSS during load ≤ ${TARGETS.serverRssMb} MB: peak ${r.rssMax.toFixed(0)} MB, ${verdict(r.rssMax <= TARGETS.serverRssMb)}.`,
    `Sealing ≥ ${perSecond(TARGETS.recordsPerSecond)} records/s with memory flat: ${perSecond(sealingRate)} records/s, ${flat(r.sealing.memory) ? 'flat' : 'not flat'}, ${verdict(sealingRate >= TARGETS.recordsPerSecond && flat(r.sealing.memory))}.`,
    `Verifying ≥ ${perSecond(TARGETS.recordsPerSecond)} records/s with memory flat: ${perSecond(verifyingRate)} records/s, ${flat(r.verification.memory) ? 'flat' : 'not flat'}, ${verdict(verifyingRate >= TARGETS.recordsPerSecond && flat(r.verification.memory))}.`,
    `Storage ≤ ${TARGETS.bytesPerRecord} bytes per record, all indexes included: ${bytesPerRecord.toFixed(0)} bytes, ${verdict(bytesPerRecord <= TARGETS.bytesPerRecord)}.`,
    `CSV export ≤ ${TARGETS.exportRatio}× PostgreSQL's COPY: ${(r.exportResult.appSeconds / r.exportResult.copySeconds).toFixed(1)}×, ${verdict(r.exportResult.appSeconds <= TARGETS.exportRatio * r.exportResult.copySeconds)}.`,
    `History reads during retention p95 ≤ ${TARGETS.retentionReadP95Ms} ms: ${ms(r.retention.reads.p95)} ms, ${verdict(r.retention.reads.p95 <= TARGETS.retentionReadP95Ms)}.`,
    `Browser sort and filter settled p50 ≤ ${TARGETS.browserSettledP50Ms} ms: ${ms(r.browser.times.sort.settled.p50)} and ${ms(r.browser.times.filter.settled.p50)} ms, ${verdict(Math.max(r.browser.times.sort.settled.p50, r.browser.times.filter.settled.p50) <= TARGETS.browserSettledP50Ms)}.`
  ]
  return `## Targets\n${lines.map(line => `- ${line}`).join('\n')}`
}

function missesLine (results: CaseResult[], when: string): string {
  const misses = results.filter(x => !fragmentMet(x))
  if (!misses.length) return `- Every history case met its p95 target ${when}.`
  return `- Over the p95 target ${when} (app p95, of which SQL p95, in ms): ${misses.map(x => `**${x.name}** ${ms(x.app.p95)} (${ms(x.sql.p95)})`).join(', ')}.`
}

function cpuPerView (r: ReportInput): string {
  const views = Math.max(1, r.load.recorded)
  const appMs = r.loadCpu.app * 1000 / views
  if (r.loadCpu.postgres === null) return `CPU per recorded view: app server **${ms(appMs)} ms** (user + system, from /proc); PostgreSQL's processes are not on this machine, so its share is not measured.`
  const pgMs = r.loadCpu.postgres * 1000 / views
  return `CPU per recorded view: **${ms(appMs + pgMs)} ms** (app server ${ms(appMs)} ms, PostgreSQL ${ms(pgMs)} ms), the user and system time that the app server's process and the PostgreSQL server's processes used during the load phase (from /proc/<pid>/stat, before and after), divided by the views recorded. Unlike views per second it does not depend on how busy the machine was: one core would carry about **${perSecond(1000 / (appMs + pgMs))} recorded views/s**.`
}

export function renderReport (r: ReportInput): string {
  const nonText = r.results.filter(x => !/contains/.test(x.name))
  const overheads = nonText.map(x => x.app.p50 - x.sql.p50).sort((a, b) => a - b)
  const recordingCost = r.recordingOn.p50 - r.recordingOff.p50
  return `# Benchmarks

Generated by \`npm run bench\` on ${r.started.toISOString().slice(0, 10)} (${r.started.toISOString()}).

## Machine
- CPU: ${r.machine.cpu}
- Memory: ${r.machine.memory}
- PostgreSQL ${r.version}, Node.js ${process.version}
- The app runs as its own process, compiled and in production mode as \`npm start\` runs it, on loopback. The benchmark talks to it over HTTP with the headers htmx sends, from node:http on one kept-alive connection, after requesting every case ${r.warmUpRounds} times so that the server is warm.

## Data set
${r.size.records.toLocaleString()} history records over ${r.size.groups.toLocaleString()} practices and ${r.size.days} days, Zipf-like sizes; the largest practice has ${r.largestRecords.toLocaleString()} records (${(r.size.largestShare * 100).toFixed(0)}% of all) and a subscription whose window covers all ${r.size.days} days. Seeded random numbers, so runs are comparable. Loaded with COPY and indexed in ${(r.generationMs / 1000).toFixed(0)} s; sealing it into the practices' hash chains is timed under Tamper evidence. While the benchmark runs, the app's own sealer seals new records every 30 seconds, as in production.

${targetsSection(r)}

## History fragment, largest practice (${r.results[0]?.app.samples ?? 0} warm samples each, milliseconds)
"App" is the full HTTP request for the table fragment (session, access check, count, page, rendering); "SQL" is the same count and page queries sent straight to PostgreSQL in the same run. Measured after \`VACUUM ANALYZE\`, so every page of the table is marked all-visible and index-only scans need not visit the rows.

${caseTable(r.results)}

## While records arrive (not vacuumed)
A live practice's newest records have never been vacuumed, so an index-only scan still visits their rows. Here autovacuum is off for \`audit_records\` and records arrive in the largest practice at ${perSecond(r.live.perSecond)} a second (a batch every 100 ms on a connection of their own, stamped with the time they arrive, with the generator's mix of users, actions and descriptions); \`ANALYZE\` (not \`VACUUM\`) runs once after ${r.live.analyzedAfterSeconds} s of arrivals, and then every case is measured as above while the records keep arriving. ${r.live.inserted.toLocaleString()} records arrived in ${r.live.seconds.toFixed(0)} s (${perSecond(r.live.inserted / r.live.seconds)} a second${r.live.inserted / r.live.seconds < 0.95 * r.live.perSecond ? ', **short of the intended rate**: the batches took longer than they had' : ''}). Afterwards autovacuum is put back and the table vacuumed, so the phases below start from the same state as before.

${caseTable(r.live.results)}

## Recording a view
- Patient profile over HTTP: p50 ${ms(r.pageTimes.p50)} ms, p95 ${ms(r.pageTimes.p95)} ms.
- The same work with and without the history insert, interleaved (A/B, 350 pairs after warm-up): with ${ms(r.recordingOn.p50)} ms, without ${ms(r.recordingOff.p50)} ms at p50, so recording adds **${ms(recordingCost)} ms** (target ≤ ${TARGETS.recordingMs} ms: ${verdict(recordingCost <= TARGETS.recordingMs)}).

## Sustained load
- ${r.load.seconds} s of recorded patient-profile views with 16 connections: **${perSecond(r.load.requestsPerSecond)} views/s** (target ≥ ${perSecond(TARGETS.viewsPerSecond)} for ${TARGETS.loadSeconds} s: ${verdict(r.load.requestsPerSecond >= TARGETS.viewsPerSecond && r.load.seconds >= TARGETS.loadSeconds)}), latency p50 ${r.load.latencyP50} ms, p99 ${r.load.latencyP99} ms, ${r.load.errors} errors.
- ${cpuPerView(r)}
- Pages served ${r.load.served.toLocaleString()}, views recorded ${r.load.recorded.toLocaleString()}: ${r.load.recorded >= r.load.served ? '**none lost**' : `**${r.load.served - r.load.recorded} missing**`} (a request still in flight when the run stops is recorded but not counted as served).
- Server RSS peak during load: **${r.rssMax.toFixed(0)} MB** (target ≤ ${TARGETS.serverRssMb} MB: ${verdict(r.rssMax <= TARGETS.serverRssMb)}).

## Export
- Full CSV export of the largest practice through the app (${r.exportResult.megabytes.toFixed(0)} MB): **${r.exportResult.appSeconds.toFixed(1)} s**; PostgreSQL's own \`COPY … TO STDOUT\` of the same rows: ${r.exportResult.copySeconds.toFixed(1)} s, so **${(r.exportResult.appSeconds / r.exportResult.copySeconds).toFixed(1)}×** (target ≤ ${TARGETS.exportRatio}×: ${verdict(r.exportResult.appSeconds <= TARGETS.exportRatio * r.exportResult.copySeconds)}).
- Server RSS ${r.exportResult.rssBefore.toFixed(0)} MB before, peak ${r.exportResult.rssPeak.toFixed(0)} MB during the export.

## Retention
- Deleting ${r.retention.deleted.toLocaleString()} expired records of one practice in batches of 5,000, each batch with its chain checkpoint: **${r.retention.seconds.toFixed(1)} s** (they were sealed beforehand, in ${r.retention.sealingSeconds.toFixed(1)} s, as the app's sealer would have done while they were recorded).
- That practice's history reads meanwhile (${r.retention.reads.samples} reads, sorted by user): p50 ${ms(r.retention.reads.p50)} ms, p95 **${ms(r.retention.reads.p95)} ms**, max ${ms(r.retention.reads.max)} ms (target ≤ ${TARGETS.retentionReadP95Ms} ms p95: ${verdict(r.retention.reads.p95 <= TARGETS.retentionReadP95Ms)}).

## Tamper evidence
- Sealing every record of the data set into its practice's chain after the bulk load (one pass, SHA-256 of each record, seals of up to 5,000): ${r.sealing.records.toLocaleString()} records in ${(r.sealing.ms / 1000).toFixed(1)} s, **${perSecond(r.sealing.records / (r.sealing.ms / 1000))} records/s**${r.sealing.records < r.size.records ? ` (the other ${(r.size.records - r.sealing.records).toLocaleString()} were held back by a transaction open elsewhere on the cluster and left to the app's sealer)` : ''}; the sealing process's memory: ${memoryNote(r.sealing.memory)}; ${stallNote(r.sealing.longestStallMs)}. In normal running the sealer takes what arrived in the last 30 seconds.
- Verify integrity of the largest practice: **${r.verification.seconds.toFixed(1)} s** for ${r.verification.verified.toLocaleString()} records (${r.verification.intact ? 'intact' : '**broken**'}; ${r.verification.awaitingSeal} not yet sealed), **${perSecond(r.verification.verified / r.verification.seconds)} records/s**; the verifying process's memory: ${memoryNote(r.verification.memory)}; ${stallNote(r.verification.longestStallMs)}.

## Storage
${storageSection(r.storage, r.size.records, r.casesByIndex, r.results.length)}

${browserSection(r.browser.times, r.browser.when, r.browser.machine, r.browser.load, 'npm run bench')}
## Analysis
- App overhead at p50 is within ≤ ${TARGETS.overheadRatio}× or +${TARGETS.overheadMs} ms in **${r.results.filter(overheadMet).length} of ${r.results.length}** cases after vacuuming and **${r.live.results.filter(overheadMet).length} of ${r.live.results.length}** while records arrive. Without the text filters (whose count and page the app runs side by side, so it can beat the SQL run one after the other) the app takes ${ms(overheads[0] ?? 0)} to ${ms(overheads[overheads.length - 1] ?? 0)} ms longer than raw SQL, median ${ms(overheads[Math.floor(overheads.length / 2)] ?? 0)} ms.
- A round trip to PostgreSQL (\`select 1\`) takes ${ms(r.roundTrips.awake.p50)} ms back to back but ${ms(r.roundTrips.afterIdle.p50)} ms after 5 ms of idling (p50): on this machine, waking a sleeping process is a large part of a short request. The raw SQL loop never sleeps between its queries; a request sleeps while its count and page run, and whenever its session has to be read from the database rather than from what the server kept.
${missesLine(r.results, 'after vacuuming')}
${missesLine(r.live.results, 'while records arrived')}
- The total under the table is counted up to 10,001 rows (\`COUNT_LIMIT\`), or 1,001 under a text filter (\`TEXT_COUNT_LIMIT\`); past that the page says "more than 10,000" (or 1,000) and the last page is read backwards along the same index, so no request counts a whole practice. Under a text filter the share of matches among the viewer's newest 1,000 records decides: a common text's count and page walk a bounded stretch of records in order, a rare one's (or a walk that comes back short) are read through the trigram indexes; the SQL column includes that sample.
`
}

/** Writes the generated report to `path`, keeping whatever follows END_OF_GENERATED in the file already there. */
export function writeReport (path: string, generated: string): void {
  const existing = existsSync(path) ? readFileSync(path, 'utf8') : ''
  const end = existing.indexOf(END_OF_GENERATED)
  const kept = end >= 0 ? existing.slice(end + END_OF_GENERATED.length).replace(/^\n+/, '') : ''
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, `${generated.trimEnd()}\n\n${END_OF_GENERATED}\n${kept ? `\n${kept}` : ''}`)
}

/** Replaces the Browser section of the generated part of the report at `path`, or adds it before the analysis, leaving the rest as it was. */
export function writeBrowserSection (path: string, section: string): void {
  const report = existsSync(path) ? readFileSync(path, 'utf8') : `# Benchmarks\n\n${END_OF_GENERATED}\n`
  const generatedEnd = report.includes(END_OF_GENERATED) ? report.indexOf(END_OF_GENERATED) : report.length
  const generated = report.slice(0, generatedEnd)
  const rest = report.slice(generatedEnd)
  const start = generated.indexOf('\n## Browser\n')
  let updated: string
  if (start >= 0) {
    const next = generated.indexOf('\n## ', start + 1)
    updated = `${generated.slice(0, start + 1)}${section}${next >= 0 ? generated.slice(next) : '\n'}`
  } else {
    const analysis = generated.indexOf('\n## Analysis\n')
    updated = analysis >= 0 ? `${generated.slice(0, analysis + 1)}${section}\n${generated.slice(analysis + 1)}` : `${generated.trimEnd()}\n\n${section}\n`
  }
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, `${updated}${rest}`)
}
