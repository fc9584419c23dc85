import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import http from 'node:http'
import { monitorEventLoopDelay } from 'node:perf_hooks'

export interface Stats { p50: number, p95: number, max: number, samples: number }

export function stats (samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
  return { p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1]!, samples: sorted.length }
}

export async function timed (work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint()
  await work()
  return Number(process.hrtime.bigint() - start) / 1e6
}

/** Warm up, then take `samples` timings. */
export async function sample (work: () => Promise<unknown>, samples: number, warmup = 3): Promise<Stats> {
  for (let i = 0; i < warmup; i++) await work()
  const times: number[] = []
  for (let i = 0; i < samples; i++) times.push(await timed(work))
  return stats(times)
}

/** Resident memory of a process, in MB, from /proc. */
export function rssMb (pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find(l => l.startsWith('VmRSS:'))
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) / 1024
}

/**
 * Watches this process's event loop until stopped: the longest it went
 * without turning, in milliseconds, which is how long a request to a
 * server doing the same work could have waited behind it.
 */
export function watchEventLoop (): () => number {
  const delay = monitorEventLoopDelay({ resolution: 5 })
  delay.enable()
  return () => {
    delay.disable()
    return delay.max / 1e6
  }
}

/** Watches a process's resident memory every 100 ms until stopped: what it was before and the most it reached. */
export function watchRss (pid = process.pid): () => { before: number, peak: number } {
  const before = rssMb(pid)
  let peak = before
  const timer = setInterval(() => { try { peak = Math.max(peak, rssMb(pid)) } catch { /* the process is gone */ } }, 100)
  return () => {
    clearInterval(timer)
    return { before, peak }
  }
}

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim())

/** What /proc/<pid>/stat says of a process: its name, its parent and the CPU it has used, user and system, in seconds. */
function processCpu (pid: number): { name: string, parent: number, seconds: number } | null {
  let stat: string
  try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8') } catch { return null }
  // The name is in parentheses and may hold spaces; the fields after it are counted from its closing one.
  const close = stat.lastIndexOf(')')
  const fields = stat.slice(close + 2).split(' ')
  return { name: stat.slice(stat.indexOf('(') + 1, close), parent: Number(fields[1]), seconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND }
}

/** CPU seconds used so far by one process. */
export const cpuSeconds = (pid: number): number => processCpu(pid)?.seconds ?? 0

/** The parent of a process, or null when it is not on this machine. */
export const parentOf = (pid: number): number | null => processCpu(pid)?.parent ?? null

/** CPU seconds used so far by a process and each of its children, by pid, leaving out the pids in `except`. */
export function familyCpuSeconds (parent: number, except: ReadonlySet<number> = new Set()): Map<number, number> {
  const used = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry)
    if (!Number.isInteger(pid) || except.has(pid)) continue
    const cpu = processCpu(pid)
    if (cpu && (pid === parent || cpu.parent === parent)) used.set(pid, cpu.seconds)
  }
  return used
}

export const ms = (n: number): string => n < 10 ? n.toFixed(2) : n.toFixed(1)

/**
 * A signed-in browser for the benchmark: cookies and the CSRF token, over
 * real HTTP. Timed requests go over one kept-alive connection with
 * node:http, whose client costs a fraction of fetch's: on two cores the
 * client's own work would otherwise be counted as the app's.
 */
export class HttpUser {
  private cookie = ''
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  constructor (readonly baseUrl: string) {}

  get cookieHeader (): string { return this.cookie }

  private keep (response: Response): void {
    const set = response.headers.getSetCookie().map(c => c.split(';')[0]!).filter(Boolean)
    if (set.length) this.cookie = set.join('; ')
  }

  async signIn (email: string, password: string): Promise<void> {
    const form = await fetch(`${this.baseUrl}/login`)
    this.keep(form)
    const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!
    const response = await fetch(`${this.baseUrl}/login`, {
      method: 'POST', redirect: 'manual', headers: { cookie: this.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: token, email, password })
    })
    this.keep(response)
    if (response.status !== 303 && response.status !== 302) throw new Error(`sign-in answered ${response.status}`)
  }

  async get (path: string, htmx = true): Promise<{ status: number, body: string }> {
    return new Promise((resolve, reject) => {
      const request = http.get(`${this.baseUrl}${path}`, { agent: this.agent, headers: { cookie: this.cookie, ...(htmx ? { 'hx-request': 'true' } : {}) } }, response => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
        response.on('error', reject)
      })
      request.on('error', reject)
    })
  }

  close (): void {
    this.agent.destroy()
  }
}

export interface IndexSize { name: string, bytes: number, primary: boolean, unique: boolean }
export interface RelationSize { table: string, heap: number, toast: number, indexes: IndexSize[] }

/** What each history table takes on disk: its rows, their out-of-line (TOAST) part, and each index. */
export async function measureStorage (db: import('pg').Client, tables: readonly string[]): Promise<RelationSize[]> {
  const sizes: RelationSize[] = []
  for (const table of tables) {
    const { rows: [row] } = await db.query<{ heap: string, total: string, indexes: string }>(
      'select pg_relation_size($1::regclass) as heap, pg_total_relation_size($1::regclass) as total, pg_indexes_size($1::regclass) as indexes', [table])
    const { rows: indexes } = await db.query<{ name: string, bytes: string, primary: boolean, unique: boolean }>(
      `select indexrelid::regclass::text as name, pg_relation_size(indexrelid) as bytes, indisprimary as primary, indisunique as unique
         from pg_index where indrelid = $1::regclass order by 2 desc`, [table])
    sizes.push({
      table,
      heap: Number(row!.heap),
      toast: Number(row!.total) - Number(row!.heap) - Number(row!.indexes),
      indexes: indexes.map(index => ({ name: index.name, bytes: Number(index.bytes), primary: index.primary, unique: index.unique }))
    })
  }
  return sizes
}
