import { appendFile, mkdir, open } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { SignedHead } from './signed-head.js'

/** One practice's copy of its signed heads, one JSON object a line, oldest first. */
export function headsFile (dir: string, practiceGroupId: number): string {
  return join(dir, `${practiceGroupId}.jsonl`)
}

export function headLine (head: SignedHead): string {
  return `${JSON.stringify({ payload: head.payload, signature: head.signature.toString('base64') })}\n`
}

/** A line's signed head, or null for anything else (a line cut short by a crash, or text that was never one). */
export function parseHeadLine (line: string): SignedHead | null {
  try {
    const value = JSON.parse(line) as { payload?: unknown, signature?: unknown }
    if (typeof value.payload !== 'string' || typeof value.signature !== 'string') return null
    return { payload: value.payload, signature: Buffer.from(value.signature, 'base64') }
  } catch {
    return null
  }
}

/** Whether the file ends inside a line: a write cut short, which the next line must not run on from. */
async function endsMidLine (file: string): Promise<boolean> {
  let handle
  try {
    handle = await open(file, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
  try {
    const { size } = await handle.stat()
    if (size === 0) return false
    const last = Buffer.alloc(1)
    await handle.read(last, 0, 1, size - 1)
    return last[0] !== 0x0a
  } finally {
    await handle.close()
  }
}

/** Appends in one write, which the file system keeps whole beside other appenders. */
export async function appendHeads (file: string, heads: readonly SignedHead[]): Promise<void> {
  if (heads.length === 0) return
  await mkdir(dirname(file), { recursive: true })
  const lines = heads.map(headLine).join('')
  await appendFile(file, await endsMidLine(file) ? `\n${lines}` : lines, { mode: 0o640 })
}

const CHUNK = 64 * 1024

/**
 * A file's lines from the last to the first, read backwards a chunk at a
 * time: the newest heads are at the end, and a year of them is large. A
 * missing file has no lines.
 */
export async function * linesFromEnd (file: string): AsyncGenerator<string> {
  let handle
  try {
    handle = await open(file, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  try {
    let position = (await handle.stat()).size
    let carry = Buffer.alloc(0)
    while (position > 0) {
      const length = Math.min(CHUNK, position)
      position -= length
      const chunk = Buffer.alloc(length)
      await handle.read(chunk, 0, length, position)
      const bytes = Buffer.concat([chunk, carry])
      let end = bytes.length
      for (let i = bytes.length - 1; i >= 0; i--) {
        if (bytes[i] !== 0x0a) continue
        const line = bytes.subarray(i + 1, end).toString('utf8')
        if (line.trim()) yield line
        end = i
      }
      carry = bytes.subarray(0, end)
    }
    if (carry.toString('utf8').trim()) yield carry.toString('utf8')
  } finally {
    await handle.close()
  }
}
