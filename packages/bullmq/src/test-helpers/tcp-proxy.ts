import { connect, createServer, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy on loopback in front of Redis, to stage a Redis outage for the clients that connect
 * through it only (other tests share the real Redis and never notice): `cut()` drops every open
 * connection and refuses new ones at once, as a Redis that went down; `restore()` lets clients
 * connect again.
 */
export class TcpProxy {
  readonly #server: Server
  readonly #target: { host: string; port: number }
  readonly #sockets = new Set<Socket>()
  #cut = false
  #port = 0

  private constructor(target: { host: string; port: number }) {
    this.#target = target
    this.#server = createServer((client) => this.#accept(client))
  }

  /** Starts a proxy to the Redis of `redisUrl` on a free loopback port. */
  static async start(redisUrl: string): Promise<TcpProxy> {
    const url = new URL(redisUrl)
    const proxy = new TcpProxy({ host: url.hostname || '127.0.0.1', port: Number(url.port || 6379) })
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject)
      proxy.#server.listen(0, '127.0.0.1', () => resolve())
    })
    const address = proxy.#server.address()
    proxy.#port = typeof address === 'object' && address ? address.port : 0
    return proxy
  }

  /** The Redis URL through the proxy (the target's path, so its database, kept). */
  url(redisUrl: string): string {
    const url = new URL(redisUrl)
    url.hostname = '127.0.0.1'
    url.port = String(this.#port)
    return url.toString()
  }

  /** Whether the proxy is cut. */
  get isCut(): boolean {
    return this.#cut
  }

  /** Drops every connection and refuses new ones until `restore()`. */
  cut(): void {
    this.#cut = true
    for (const socket of this.#sockets) socket.destroy()
    this.#sockets.clear()
  }

  /** Accepts connections again. */
  restore(): void {
    this.#cut = false
  }

  async close(): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #accept(client: Socket): void {
    if (this.#cut) {
      client.destroy()
      return
    }
    const upstream = connect(this.#target)
    this.#sockets.add(client)
    this.#sockets.add(upstream)
    const drop = () => {
      client.destroy()
      upstream.destroy()
      this.#sockets.delete(client)
      this.#sockets.delete(upstream)
    }
    client.on('error', drop)
    upstream.on('error', drop)
    client.on('close', drop)
    upstream.on('close', drop)
    client.pipe(upstream)
    upstream.pipe(client)
  }
}
