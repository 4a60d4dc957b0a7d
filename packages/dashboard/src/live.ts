import type { Activity, ActivityStore, MetadataFilter } from '@runner/core'
import { isTerminalStatus } from '@runner/core/store'

/** The reconnection delay sent to `EventSource` clients. */
const RETRY_MS = 3_000

const encoder = new TextEncoder()

/**
 * One Server-Sent Events response: frames, heartbeats and one cleanup however it ends (the run
 * ended, the client went away, the store failed). A client going away never touches a run.
 */
class EventChannel {
  readonly response: Response
  readonly #abort = new AbortController()
  #controller!: ReadableStreamDefaultController<Uint8Array>
  #heartbeat: ReturnType<typeof setInterval> | undefined
  #closed = false

  constructor(request: Request, heartbeatMs: number, onBeat?: () => void) {
    this.response = new Response(
      new ReadableStream<Uint8Array>({
        start: (controller) => {
          this.#controller = controller
          controller.enqueue(encoder.encode(`retry: ${RETRY_MS}\n\n`))
          if (heartbeatMs > 0) {
            this.#heartbeat = setInterval(() => {
              this.comment('heartbeat')
              onBeat?.()
            }, heartbeatMs)
            this.#heartbeat.unref?.()
          }
        },
        cancel: () => this.#finish(),
      }),
      {
        headers: {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          // Proxies that buffer (nginx) pass the stream through.
          'x-accel-buffering': 'no',
        },
      },
    )
    request.signal.addEventListener('abort', () => this.#finish(), { once: true })
  }

  /** Aborts when the client goes away or the stream ends: what the store's `watch` listens to. */
  get signal(): AbortSignal {
    return this.#abort.signal
  }

  send(event: string, data: unknown, id?: string | number): void {
    if (this.#closed) return
    const idLine = id === undefined ? '' : `id: ${id}\n`
    this.#enqueue(`event: ${event}\n${idLine}data: ${JSON.stringify(data)}\n\n`)
  }

  comment(text: string): void {
    if (!this.#closed) this.#enqueue(`: ${text}\n\n`)
  }

  /** Ends the response (the client sees the end of the stream). */
  close(): void {
    if (this.#closed) return
    this.#finish()
    try {
      this.#controller.close()
    } catch {
      // Already closed by the client.
    }
  }

  /** Ends the response with an error event the client can show. */
  fail(error: unknown): void {
    this.send('error', { message: error instanceof Error ? error.message : 'The live stream failed.' })
    this.close()
  }

  #enqueue(text: string): void {
    try {
      this.#controller.enqueue(encoder.encode(text))
    } catch {
      this.#finish()
    }
  }

  #finish(): void {
    this.#closed = true
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat)
    this.#heartbeat = undefined
    if (!this.#abort.signal.aborted) this.#abort.abort()
  }
}

/**
 * Every change of the runs the filter matches, as `activity` events (`{ agentId, activity, entry }`),
 * from the store's `watch`. A reconnect (`Last-Event-ID` sent) first gets a `resync` event: the
 * client reloads what it shows, since the changes made while it was away are not replayed here.
 * `filter` `null` matches nothing (a caller asking outside its tenant).
 */
export function watchStream(
  store: ActivityStore,
  request: Request,
  filter: MetadataFilter | undefined | null,
  heartbeatMs: number,
): Response {
  const channel = new EventChannel(request, heartbeatMs)
  // Ids are unique per connection; what a reconnect needs is only to know that it is one.
  const connection = Math.random().toString(36).slice(2, 10)
  let sequence = 0
  if (request.headers.get('last-event-id')) channel.send('resync', {}, `${connection}-0`)
  if (filter !== null) {
    void (async () => {
      try {
        for await (const event of store.watch(filter ? { metadata: filter } : {}, channel.signal)) {
          channel.send('activity', event, `${connection}-${++sequence}`)
        }
      } catch (error) {
        if (!channel.signal.aborted) channel.fail(error)
      }
    })()
  }
  return channel.response
}

/**
 * One run's log as it grows: `entry` events (`{ index, entry, activity }`, `index` from 1, also the
 * event id), then `end` once the run is final, and the stream closes. A reconnect with
 * `Last-Event-ID: n` gets the entries after the n-th (read from the store, so it works across
 * processes); one after the end gets 204, which stops an `EventSource`.
 */
export async function runLogStream(
  store: ActivityStore,
  request: Request,
  agentId: string,
  tenant: MetadataFilter | undefined,
  heartbeatMs: number,
): Promise<Response> {
  const scope = tenant ? { metadata: tenant } : {}
  const first = await store.get(agentId, scope)
  if (!first) {
    return Response.json({ error: { name: 'NotFound', message: 'No such run.' } }, { status: 404 })
  }
  const lastEventId = request.headers.get('last-event-id')
  let sent = 0
  if (lastEventId !== null && lastEventId !== '') {
    const seen = Number(lastEventId)
    if (!Number.isSafeInteger(seen) || seen < 0 || seen > first.log.length) {
      return Response.json(
        {
          error: {
            name: 'InvalidOptionsError',
            message: `Last-Event-ID ${JSON.stringify(lastEventId.slice(0, 100))} is not an entry of run ${agentId}: reconnect without it.`,
            field: 'Last-Event-ID',
          },
        },
        { status: 400 },
      )
    }
    sent = seen
  }
  if (isTerminalStatus(first.status) && sent >= first.log.length) return new Response(null, { status: 204 })

  let reading: Promise<void> = Promise.resolve()
  /** Sends what the log holds beyond what was sent; ends the stream once the run is final. */
  const catchUp = (activity?: Activity) => {
    reading = reading.then(async () => {
      const current = activity ?? (await store.get(agentId, scope))
      activity = undefined
      if (!current) return channel.close()
      const { log, ...summary } = current
      for (; sent < log.length; sent++) {
        channel.send('entry', { index: sent + 1, entry: log[sent], activity: summary }, sent + 1)
      }
      if (isTerminalStatus(current.status)) {
        channel.send('end', { status: current.status })
        channel.close()
      }
    })
    reading.catch((error: unknown) => channel.fail(error))
  }
  // A heartbeat also re-reads the run: a change made while the watch was being set up is not lost.
  const channel = new EventChannel(request, heartbeatMs, () => catchUp())
  const changes = store.watch({ agentId, ...(tenant ? { metadata: tenant } : {}) }, channel.signal)
  catchUp(first)
  // Read again once the watch is set up: what was written between the first read and it is sent.
  catchUp()
  void (async () => {
    try {
      for await (const _event of changes) catchUp()
    } catch (error) {
      if (!channel.signal.aborted) channel.fail(error)
    }
  })()
  return channel.response
}
