import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/** One POST as the receiver got it: the raw body and the two headers a receiver checks. */
export interface Arrival {
  path: string
  body: string
  timestamp: string
  signature: string
}

/**
 * What the receiver does with a request: answer with a status (2xx keeps
 * it), or die without answering, having kept it first or not.
 */
export type Behaviour = (arrival: Arrival, count: number) => number | 'die' | 'keep-and-die'

/**
 * A real HTTP receiver on 127.0.0.1, as a practice's SIEM would run one:
 * it keeps what it accepted (2xx), can be slow, can die in the middle of a
 * request, and can be started again on the same port.
 */
export class Receiver {
  readonly accepted: Arrival[] = []
  /** Every request that reached it, accepted or not. */
  requests = 0
  delayMs = 0
  behaviour: Behaviour = () => 200
  private server: Server | null = null
  private readonly sockets = new Set<Socket>()
  private constructor (public port: number) {}

  static async start (): Promise<Receiver> {
    const receiver = new Receiver(0)
    await receiver.listen()
    return receiver
  }

  url (path: string): string {
    return `http://127.0.0.1:${this.port}${path}`
  }

  async listen (): Promise<void> {
    const server = createServer((request, response) => { this.handle(request, response).catch(() => response.destroy()) })
    server.on('connection', socket => {
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.port = (server.address() as { port: number }).port
    this.server = server
  }

  /** Stops as a crashed receiver would: no more connections, and every open one cut, answered or not. */
  async kill (): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = null
    const closed = new Promise<void>(resolve => server.close(() => resolve()))
    for (const socket of this.sockets) socket.destroy()
    await closed
  }

  private async handle (request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const arrival: Arrival = {
      path: request.url ?? '',
      body: Buffer.concat(chunks).toString('utf8'),
      timestamp: String(request.headers['x-practice-audit-timestamp'] ?? ''),
      signature: String(request.headers['x-practice-audit-signature'] ?? '')
    }
    this.requests++
    if (this.delayMs > 0) await new Promise(resolve => setTimeout(resolve, this.delayMs))
    const outcome = this.behaviour(arrival, this.requests)
    if (outcome === 'die' || outcome === 'keep-and-die') {
      if (outcome === 'keep-and-die') this.accepted.push(arrival)
      await this.kill()
      return
    }
    if (outcome >= 200 && outcome < 300) this.accepted.push(arrival)
    response.writeHead(outcome, { 'content-type': 'text/plain' }).end('ok')
  }
}
