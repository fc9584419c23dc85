import type { PoolClient } from 'pg'
import { to as copyTo } from 'pg-copy-streams'

/** How every binary COPY begins: "PGCOPY", newline, 0xFF, carriage return, newline, a zero byte. */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')

/**
 * Everything a query returns, in PostgreSQL's binary COPY format, as one
 * buffer. A text column comes as its bytes, which a caller can use as they
 * are: nothing is decoded into a string unless it asks.
 */
export async function copyOut (client: PoolClient, select: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of client.query(copyTo(`copy (${select}) to stdout (format binary)`))) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/**
 * Walks the rows of a binary COPY one field at a time: `nextRow` moves to
 * the next row (false after the last), `nextField` to the next field of
 * that row, whose bytes are then `data[start, start + length)`, or which is
 * null when `length` is -1.
 */
export class BinaryCopyRows {
  start = 0
  length = -1
  private offset: number

  constructor (readonly data: Buffer) {
    if (data.length < SIGNATURE.length + 8 || !data.subarray(0, SIGNATURE.length).equals(SIGNATURE)) {
      throw new Error('Not PostgreSQL binary COPY output')
    }
    const extension = data.readUInt32BE(SIGNATURE.length + 4)
    this.offset = SIGNATURE.length + 8 + extension
  }

  nextRow (): boolean {
    const fields = this.data.readInt16BE(this.offset)
    this.offset += 2
    return fields !== -1
  }

  nextField (): void {
    this.length = this.data.readInt32BE(this.offset)
    this.start = this.offset + 4
    this.offset = this.start + Math.max(this.length, 0)
  }

  /** The field as a whole number written in decimal digits, perhaps after a minus sign ("123", "-4"). */
  wholeNumber (): number {
    const negative = this.data[this.start] === 45
    let value = 0
    for (let i = negative ? this.start + 1 : this.start; i < this.start + this.length; i++) value = value * 10 + this.data[i]! - 48
    return negative ? -value : value
  }

  /** The field as text of ASCII characters only, such as a number or a time as PostgreSQL prints them. */
  ascii (): string {
    return this.data.toString('latin1', this.start, this.start + this.length)
  }
}
