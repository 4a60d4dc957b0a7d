import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { redactJsonText } from '../util/secrets.js'
import type { RunEvent } from './events.js'
import type { RunResult } from './types.js'

/**
 * The live view of one run: an async iterable of `RunEvent`s, plus the final `result`.
 *
 * The run starts at once, whether or not anybody iterates; events are buffered, so a consumer
 * that starts late still sees every event from `run-start`. Each iteration replays from the
 * start. A consumer that stops iterating early (`break`, `return`, a throw in the loop body)
 * aborts the run, which ends `canceled`. Iterating events never throws: a failure is the
 * `run-error` event and the rejection of `result`.
 */
export class RunStream<TOutput = unknown> implements AsyncIterable<RunEvent<TOutput>> {
  /** Id of the run's activity, known before the run starts. */
  readonly agentId: string
  /** Settles when the run ends: the result, or the run's error. */
  readonly result: Promise<RunResult<TOutput>>

  /** Every event so far (each reader replays from the start). */
  readonly #events = new EventLog<RunEvent<TOutput>>()
  readonly #buffer: boolean
  readonly #abort: (reason?: unknown) => void
  #done = false
  /** Readers waiting for an event (each with a read pending on an empty buffer). */
  #waiting: RunStreamReader<TOutput>[] = []

  /** @internal Created by `BaseAgentRunner.runStreamed`. */
  constructor(init: {
    agentId: string
    buffer: boolean
    abort: (reason?: unknown) => void
    start: (push: (event: RunEvent<TOutput>) => void) => Promise<RunResult<TOutput>>
  }) {
    this.agentId = init.agentId
    this.#buffer = init.buffer
    this.#abort = init.abort
    this.result = init.start((event) => this.#push(event)).finally(() => this.#end())
    // The caller may only iterate; the rejection is still theirs through `result` when they await it.
    this.result.catch(() => {})
  }

  /** Cancels the run. The activity ends `canceled`; `result` rejects with `RunCanceledError`. */
  abort(reason?: unknown): void {
    this.#abort(reason)
  }

  [Symbol.asyncIterator](): AsyncIterator<RunEvent<TOutput>> {
    return this.#reader()
  }

  /** Only the answer text, as it streams. Rejects with the run's error if the run fails. */
  get textStream(): AsyncIterable<string> {
    const stream = this
    return {
      async *[Symbol.asyncIterator]() {
        for await (const event of stream) {
          if (event.type === 'text-delta') yield event.text
          else if (event.type === 'run-error') throw event.error
        }
      },
    }
  }

  /** The events as a web `ReadableStream`; canceling it aborts the run. */
  toReadableStream(): ReadableStream<RunEvent<TOutput>> {
    const iterator = this.#reader()
    const stream = this
    return new ReadableStream<RunEvent<TOutput>>({
      async pull(controller) {
        const next = await iterator.next()
        if (next.done) controller.close()
        else controller.enqueue(next.value)
      },
      async cancel() {
        // A pending read may wait for the next event: abort first, then release the reader.
        if (!stream.#done) stream.#abort(new RunCanceledError('The stream reader was canceled.'))
        await iterator.return()
      },
    })
  }

  /**
   * The events as a Server-Sent Events `Response`, for route handlers of Next.js, Hono, Bun or any
   * Fetch-API server, and for `EventSource` clients: every frame has an `id:` (the event's number in
   * the run, from 1), the first sets `retry:`, a `: heartbeat` comment goes out while the run is
   * quiet, and the stream ends after `run-end` or `run-error` (clients close on those). A
   * reconnect that sends `Last-Event-ID` (pass the `request`, or `lastEventId`) gets the events after
   * that one; a reconnect after the last event of an ended run gets `204 No Content`, which stops
   * an `EventSource` for good. `onDisconnect` says what a client that goes away does to the run:
   * `'cancel'` (default) aborts it, `'continue'` lets it run (stop it with `abort`). A
   * `Last-Event-ID` that is not an event number of this run gets `400`.
   */
  toSSEResponse(options: SSEResponseOptions = {}): Response {
    const {
      request,
      lastEventId,
      heartbeatMs = DEFAULT_HEARTBEAT_MS,
      retryMs = DEFAULT_RETRY_MS,
      onDisconnect = 'cancel',
      ...init
    } = options
    checkSSEOptions(heartbeatMs, retryMs, onDisconnect)
    const headers = new Headers(init.headers)
    if (!headers.has('content-type')) headers.set('content-type', 'text/event-stream; charset=utf-8')
    if (!headers.has('cache-control')) headers.set('cache-control', 'no-cache, no-transform')
    if (!headers.has('connection')) headers.set('connection', 'keep-alive')
    const resumeId = lastEventId ?? request?.headers.get('last-event-id') ?? null
    let from = 0
    if (resumeId !== null && resumeId.trim() !== '') {
      const id = Number(resumeId)
      if (!Number.isSafeInteger(id) || id < 0 || id > this.#events.length) {
        return new Response(
          `Last-Event-ID ${JSON.stringify(resumeId.slice(0, 100))} is not an event of run ${this.agentId}: reconnect without it to read the run from the start.`,
          { status: 400, headers: { 'content-type': 'text/plain; charset=utf-8' } },
        )
      }
      from = id
    }
    // The run ended and the client has seen its last event: 204 tells EventSource to stop.
    if (this.#done && from >= this.#events.length) return new Response(null, { status: 204, headers })
    const encoder = new TextEncoder()
    const iterator = this.#reader(from, onDisconnect === 'cancel')
    const stream = this
    let id = from
    let heartbeat: ReturnType<typeof setInterval> | undefined
    const stop = () => {
      if (heartbeat !== undefined) clearInterval(heartbeat)
      heartbeat = undefined
    }
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(`retry: ${retryMs}\n\n`))
        if (heartbeatMs > 0) {
          heartbeat = setInterval(() => {
            try {
              controller.enqueue(encoder.encode(': heartbeat\n\n'))
            } catch {
              stop()
            }
          }, heartbeatMs)
          heartbeat.unref?.()
        }
      },
      async pull(controller) {
        const next = await iterator.next()
        if (next.done) {
          stop()
          controller.close()
          return
        }
        id++
        const event = next.value
        controller.enqueue(
          encoder.encode(`event: ${event.type}\nid: ${id}\ndata: ${serializeEvent(event)}\n\n`),
        )
      },
      async cancel() {
        stop()
        if (onDisconnect === 'cancel' && !stream.#done) {
          stream.#abort(new RunCanceledError('The SSE client disconnected.'))
        }
        await iterator.return()
      },
    })
    return new Response(body, { ...init, headers })
  }

  #push(event: RunEvent<TOutput>): void {
    if (this.#done) return
    if (this.#buffer) this.#events.push(event)
    if (this.#waiting.length > 0) this.#wake()
  }

  #end(): void {
    this.#done = true
    if (this.#waiting.length > 0) this.#wake()
  }

  /** Hands what arrived to the readers that wait for it. */
  #wake(): void {
    const waiting = this.#waiting
    this.#waiting = []
    for (const reader of waiting) reader.deliver()
  }

  /** A reader from event `from` (0: the first); one that stops early aborts the run unless told not to. */
  #reader(from = 0, abortOnStop = true): RunStreamReader<TOutput> {
    return new RunStreamReader<TOutput>(
      {
        events: this.#events,
        done: () => this.#done,
        wait: (reader) => this.#waiting.push(reader),
        stop: () => {
          if (abortOnStop && !this.#done) {
            this.#abort(new RunCanceledError('The stream consumer stopped reading.'))
          }
        },
      },
      from,
    )
  }
}

/** Options of `RunStream.toSSEResponse`: the response's own (`status`, `headers`...) and these. */
export interface SSEResponseOptions extends ResponseInit {
  /** The request being answered: its `Last-Event-ID` header resumes after that event. */
  request?: Request
  /** Resume after this event id (what a client sent as `Last-Event-ID`); wins over `request`'s header. */
  lastEventId?: string | null
  /** A `: heartbeat` comment this often, so proxies and clients keep a quiet stream open. Default 15,000 ms; `0` for none. */
  heartbeatMs?: number
  /** The reconnection delay sent to `EventSource` (`retry:`). Default 3,000 ms. */
  retryMs?: number
  /** What a client that goes away does to the run: `'cancel'` (default) aborts it, `'continue'` leaves it running. */
  onDisconnect?: 'cancel' | 'continue'
}

const DEFAULT_HEARTBEAT_MS = 15_000
const DEFAULT_RETRY_MS = 3_000

function checkSSEOptions(heartbeatMs: unknown, retryMs: unknown, onDisconnect: unknown): void {
  const issues: { field: string; message: string }[] = []
  if (!Number.isSafeInteger(heartbeatMs) || (heartbeatMs as number) < 0)
    issues.push({ field: 'heartbeatMs', message: 'must be an integer number of milliseconds, 0 for none' })
  if (!Number.isSafeInteger(retryMs) || (retryMs as number) < 0)
    issues.push({ field: 'retryMs', message: 'must be an integer number of milliseconds' })
  if (onDisconnect !== 'cancel' && onDisconnect !== 'continue')
    issues.push({ field: 'onDisconnect', message: "must be 'cancel' or 'continue'" })
  if (issues.length > 0) throw new InvalidOptionsError(issues, { subject: 'SSE response options' })
}

const CHUNK_BITS = 10
const CHUNK_SIZE = 1 << CHUNK_BITS

/**
 * An append-only list kept in chunks of 1,024: a stream of many thousand events never copies a
 * large array to grow it, and each chunk is small for the garbage collector.
 */
class EventLog<T> {
  readonly #chunks: T[][] = []
  #last: T[] = []
  length = 0

  push(value: T): void {
    if (this.#last.length === 0) this.#chunks.push(this.#last)
    this.#last.push(value)
    this.length++
    if (this.#last.length === CHUNK_SIZE) this.#last = []
  }

  /** The value at `index` (below `length`). */
  at(index: number): T {
    return this.#chunks[index >>> CHUNK_BITS]![index & (CHUNK_SIZE - 1)]!
  }
}

/** What a reader needs of its stream. */
interface ReaderSource<TOutput> {
  /** The stream's events (only ever appended to). */
  events: EventLog<RunEvent<TOutput>>
  /** Whether the run has ended (no event follows). */
  done(): boolean
  /** Asks to be woken (`deliver`) when an event arrives or the run ends. */
  wait(reader: RunStreamReader<TOutput>): void
  /** The reader stopped before the end: the run is aborted. */
  stop(): void
}

/**
 * One reader of a `RunStream`: an async iterator over the stream's events from the first. An
 * event already buffered is handed out at once (an already-resolved promise, no wait); only a read
 * on an empty buffer waits, with one pending promise, until the next event or the end. Reads made
 * without waiting for the previous one are answered in order. Stopping early (`return`, `throw`:
 * a `break` in a for-await loop, an error in its body) aborts the run.
 */
class RunStreamReader<TOutput> implements AsyncIterableIterator<RunEvent<TOutput>> {
  readonly #source: ReaderSource<TOutput>
  #index = 0
  /** Set once the reader has read the end or stopped. */
  #finished = false
  /** Reads waiting for an event, oldest first. */
  #pending: Array<(result: IteratorResult<RunEvent<TOutput>, undefined>) => void> = []

  constructor(source: ReaderSource<TOutput>, from = 0) {
    this.#source = source
    this.#index = from
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<RunEvent<TOutput>, undefined>> {
    if (this.#pending.length === 0) {
      const result = this.#take()
      if (result) return Promise.resolve(result)
    }
    const { promise, resolve } = Promise.withResolvers<IteratorResult<RunEvent<TOutput>, undefined>>()
    if (this.#pending.push(resolve) === 1) this.#source.wait(this)
    return promise
  }

  return(): Promise<IteratorResult<RunEvent<TOutput>, undefined>> {
    this.#stop()
    return Promise.resolve({ value: undefined, done: true })
  }

  throw(error?: unknown): Promise<IteratorResult<RunEvent<TOutput>, undefined>> {
    this.#stop()
    return Promise.reject(error)
  }

  /** @internal Called by the stream when an event arrived or the run ended. */
  deliver(): void {
    const pending = this.#pending
    let served = 0
    while (served < pending.length) {
      const result = this.#take()
      if (!result) break
      pending[served++]!(result)
    }
    if (served === 0) {
      if (pending.length > 0) this.#source.wait(this)
      return
    }
    this.#pending = served === pending.length ? [] : pending.slice(served)
    if (this.#pending.length > 0) this.#source.wait(this)
  }

  /** The next result if there is one now: a buffered event, or the end; `undefined` to wait. */
  #take(): IteratorResult<RunEvent<TOutput>, undefined> | undefined {
    if (this.#finished) return { value: undefined, done: true }
    const events = this.#source.events
    if (this.#index < events.length) return { value: events.at(this.#index++), done: false }
    if (this.#source.done()) {
      this.#finished = true
      return { value: undefined, done: true }
    }
    return undefined
  }

  #stop(): void {
    if (!this.#finished) {
      this.#finished = true
      this.#source.stop()
    }
    // Reads still waiting end now.
    const pending = this.#pending
    this.#pending = []
    for (const resolve of pending) resolve({ value: undefined, done: true })
  }
}

/**
 * An error as plain data for the wire: its class name (`BadRequestError`, not the `Error` an SDK
 * may leave in `name`), its message, and the HTTP `status` and `code` when it has them. Never its
 * raw body, its request or its stack.
 */
function errorData(error: Error): Record<string, unknown> {
  const name =
    error.name === 'Error' && error.constructor.name !== 'Object' ? error.constructor.name : error.name
  const data: Record<string, unknown> = { name, message: error.message }
  const { status, code } = error as { status?: unknown; code?: unknown }
  if (typeof status === 'number') data.status = status
  if (typeof code === 'string' || typeof code === 'number') data.code = code
  return data
}

/**
 * An event as plain data for the wire (`toSSEResponse`, `serializeEvent`): errors as
 * `{ name, message, status?, code? }`; a `run-end` result without `output` (the framework's own
 * result object) and without the trajectory, which stay in process on `RunStream.result`.
 */
function wireEvent(event: RunEvent): unknown {
  switch (event.type) {
    case 'run-end': {
      const { output: _output, trajectory: _trajectory, ...result } = event.result
      return { type: 'run-end', result }
    }
    case 'run-error':
    case 'retry':
      return event.error instanceof Error ? { ...event, error: errorData(event.error) } : event
    default:
      return event
  }
}

/**
 * JSON of an event as it goes over the wire: plain data only (see `wireEvent`), nothing JSON cannot
 * hold, and secrets redacted (`redactSecrets`: registered values, keys from the environment, key
 * shapes) wherever they appear in it, error messages and status messages included.
 */
export function serializeEvent(event: RunEvent): string {
  return redactJsonText(
    JSON.stringify(wireEvent(event), (_key, value: unknown) => {
      if (value instanceof Error) return errorData(value)
      if (typeof value === 'bigint') return value.toString()
      return value
    }),
  )
}
