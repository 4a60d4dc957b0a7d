import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { ScenarioExhaustedError, ScenarioPlayer } from '../scenario/player.js'
import type { Scenario, ScenarioTurn } from '../scenario/scenario.js'
import { anthropicMessagesCodec } from './anthropic-messages.js'
import { openaiChatCodec } from './openai-chat.js'
import { openaiResponsesCodec } from './openai-responses.js'
import { type AnswerContext, isRecord, type ProtocolCodec, type ProtocolName } from './protocol-codec.js'

/** One request a protocol fake received, as it arrived. */
export interface RecordedRequest {
  /** Which API the path belongs to. */
  protocol: ProtocolName
  method: string
  /** Path without the query (`/v1/chat/completions`). */
  path: string
  /** Request headers, names lower-case, repeated values joined with `, `; `authorization` is kept. */
  headers: Record<string, string>
  /** The parsed JSON body. */
  body: Record<string, unknown>
  /** The body's `model` ('' when missing): the key that routes the request to a scenario. */
  model: string
  /** Whether the body asked for SSE (`stream: true`). */
  stream: boolean
  /** Arrival time, `Date.now()` milliseconds. */
  at: number
}

/** Settings of {@link startProtocolFake}. */
export interface ProtocolFakeOptions {
  /**
   * Pause between SSE frames, in milliseconds. Default 0: frames are written one by one without
   * waiting. Raise it to give a consumer time to cancel in the middle of a stream.
   */
  frameDelayMs?: number
  /**
   * Refuse requests without the credentials the API demands (401; Anthropic also needs an
   * `anthropic-version` header, 400). Default true: an adapter that forgets to send its key fails here.
   */
  requireAuth?: boolean
}

/** Settings of {@link ProtocolFake.play}. */
export interface PlayOptions {
  /** The model name that routes requests to this scenario. Default: a unique `scenario-<n>`. */
  model?: string
  /** Names the scenario in errors. Default: `scenario "<model>"`. */
  label?: string
}

/** A scenario registered on a protocol fake. */
export interface PlayedScenario {
  /** Pass this as the model name to the client under test. */
  model: string
  /** Hands out the turns; `player.calls[i].request` is the {@link RecordedRequest} of call i. */
  player: ScenarioPlayer
}

/**
 * A loopback HTTP server that speaks OpenAI Chat Completions, OpenAI Responses and Anthropic
 * Messages (JSON and SSE) and answers each request with the next turn of the scenario its `model`
 * names. Close it (`close()`, or `await using`) when done.
 */
export interface ProtocolFake extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string
  /** `baseURL` for the OpenAI client: `${url}/v1`. */
  readonly openaiBaseURL: string
  /** `baseURL` for the Anthropic client: `url` (the SDK adds `/v1/messages`). */
  readonly anthropicBaseURL: string
  /**
   * Every request to a protocol path with accepted headers and a JSON body, in arrival order
   * (unknown models and calls beyond a script included).
   */
  readonly requests: readonly RecordedRequest[]
  /**
   * What went wrong on the fake's side: calls beyond a script (`ScenarioExhaustedError`), unknown
   * models and paths, refused credentials, bodies that are not JSON. Scripted faults are not listed.
   */
  readonly errors: readonly Error[]
  /** Sockets open right now (keep-alive connections included). */
  readonly openConnections: number
  /** Requests received and not finished yet (a hanging call counts until its client aborts). */
  readonly pendingRequests: number
  /** The bound address: always `127.0.0.1` and an ephemeral port. */
  address(): AddressInfo
  /** Registers a scenario; requests whose body names `model` play its turns in order. */
  play(scenario: Scenario, options?: PlayOptions): PlayedScenario
  /** The requests routed (or meant) for one model. */
  requestsFor(model: string): RecordedRequest[]
  /** Throws when the fake recorded an error or a scenario has turns left over. */
  assertDone(): void
  /** Stops listening, destroys open sockets (hanging requests included); resolves once closed. */
  close(): Promise<void>
}

const codecsByPath: Readonly<Record<string, ProtocolCodec>> = {
  '/v1/chat/completions': openaiChatCodec,
  '/v1/responses': openaiResponsesCodec,
  '/v1/messages': anthropicMessagesCodec,
}

/**
 * Starts a protocol fake on `127.0.0.1` and an ephemeral port:
 *
 * ```ts
 * await using server = await startProtocolFake()
 * const { model, player } = server.play(scenario().toolCall('search', { query: 'otters' }).text('Done.'))
 * const client = new OpenAI({ apiKey: 'test', baseURL: server.openaiBaseURL, maxRetries: 0 })
 * ```
 */
export async function startProtocolFake(options: ProtocolFakeOptions = {}): Promise<ProtocolFake> {
  const fake = new ProtocolFakeServer(options)
  await fake.listen()
  return fake
}

class ProtocolFakeServer implements ProtocolFake {
  readonly requests: RecordedRequest[] = []
  readonly errors: Error[] = []
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  readonly #pending = new Set<ServerResponse>()
  readonly #players = new Map<string, ScenarioPlayer>()
  readonly #frameDelayMs: number
  readonly #requireAuth: boolean
  #address: AddressInfo | undefined
  #answers = 0
  #closing: Promise<void> | undefined

  constructor(options: ProtocolFakeOptions) {
    this.#frameDelayMs = options.frameDelayMs ?? 0
    this.#requireAuth = options.requireAuth ?? true
    this.#server = createServer((request, response) => {
      this.#pending.add(response)
      response.once('close', () => this.#pending.delete(response))
      this.#handle(request, response).catch((error: unknown) => {
        // A client that went away mid-request is not the fake's error.
        if (response.destroyed) return
        this.#fail(response, undefined, 500, error instanceof Error ? error : new Error(String(error)))
      })
    })
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
    })
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(0, '127.0.0.1', () => {
        this.#server.off('error', reject)
        this.#address = this.#server.address() as AddressInfo
        resolve()
      })
    })
  }

  get url(): string {
    return `http://127.0.0.1:${this.address().port}`
  }

  get openaiBaseURL(): string {
    return `${this.url}/v1`
  }

  get anthropicBaseURL(): string {
    return this.url
  }

  get openConnections(): number {
    return this.#sockets.size
  }

  get pendingRequests(): number {
    return this.#pending.size
  }

  address(): AddressInfo {
    if (!this.#address) throw new Error('The protocol fake is not listening yet.')
    return { ...this.#address }
  }

  play(scenario: Scenario, options: PlayOptions = {}): PlayedScenario {
    let model = options.model
    if (model === undefined) {
      let number = this.#players.size + 1
      while (this.#players.has(`scenario-${number}`)) number++
      model = `scenario-${number}`
    }
    if (this.#players.has(model)) {
      throw new Error(
        `The protocol fake already plays a scenario for model "${model}": pick another model name.`,
      )
    }
    const player = new ScenarioPlayer(scenario, options.label ?? `scenario "${model}"`)
    this.#players.set(model, player)
    return { model, player }
  }

  requestsFor(model: string): RecordedRequest[] {
    return this.requests.filter((request) => request.model === model)
  }

  assertDone(): void {
    if (this.errors.length > 0) {
      throw new Error(
        `The protocol fake recorded ${this.errors.length} error(s): ${this.errors.map((error) => error.message).join(' | ')}`,
      )
    }
    for (const player of this.#players.values()) player.assertDone()
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      // Everything still in these sets has not emitted 'close' yet.
      const closed = [...this.#sockets, ...this.#pending].map(
        (emitter) => new Promise<void>((resolve) => emitter.once('close', () => resolve())),
      )
      const stopped = new Promise<void>((resolve, reject) => {
        this.#server.close((error) => (error ? reject(error) : resolve()))
      })
      this.#server.closeAllConnections()
      for (const socket of this.#sockets) socket.destroy()
      await Promise.all([stopped, ...closed])
    })()
    return this.#closing
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const aborted = new AbortController()
    // Aborts when the client goes away before the answer is complete (an SDK abort, a timeout).
    response.once('close', () => {
      if (!response.writableFinished) aborted.abort()
    })
    const { signal } = aborted

    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname.replace(/\/+$/, '')
    const method = request.method ?? 'GET'
    const codec = codecsByPath[path]
    const text = await readBody(request)
    if (!codec || method !== 'POST') {
      const message = `The protocol fake has no route for ${method} ${path}: it serves POST ${Object.keys(codecsByPath).join(', POST ')}.`
      this.#fail(response, undefined, 404, new Error(message))
      return
    }

    const headers = flattenHeaders(request)
    if (this.#requireAuth) {
      const problem = codec.headerProblem(headers)
      if (problem) {
        this.#fail(response, codec, problem.status, new Error(`${method} ${path}: ${problem.message}`))
        return
      }
    }

    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      body = undefined
    }
    if (!isRecord(body)) {
      this.#fail(response, codec, 400, new Error(`${method} ${path}: the request body is not a JSON object.`))
      return
    }

    const recorded: RecordedRequest = {
      protocol: codec.protocol,
      method,
      path,
      headers,
      body,
      model: typeof body.model === 'string' ? body.model : '',
      stream: body.stream === true,
      at: Date.now(),
    }
    this.requests.push(recorded)

    const player = this.#players.get(recorded.model)
    if (!player) {
      const scripted = [...this.#players.keys()].map((model) => `"${model}"`).join(', ') || 'none'
      const message = `The protocol fake has no scenario for model "${recorded.model}" (${path}); scripted models: ${scripted}.`
      this.#fail(response, codec, 404, new Error(message))
      return
    }

    let turn: ScenarioTurn
    try {
      turn = player.next(recorded, { signal })
    } catch (error) {
      if (!(error instanceof ScenarioExhaustedError)) throw error
      this.#fail(response, codec, 500, error)
      return
    }

    const context: AnswerContext = {
      id: `${codec.idPrefix}${++this.#answers}`,
      model: recorded.model,
      created: Math.floor(Date.now() / 1000),
      body,
    }
    try {
      await this.#answer(codec, turn, context, recorded.stream, response, signal)
    } catch (error) {
      // The client went away (abort, or the server closing): nothing is left to answer.
      if (signal.aborted) return
      throw error
    }
  }

  /** Plays one turn: its delay, then its fault or its answer. */
  async #answer(
    codec: ProtocolCodec,
    turn: ScenarioTurn,
    context: AnswerContext,
    stream: boolean,
    response: ServerResponse,
    signal: AbortSignal,
  ): Promise<void> {
    if (turn.delayMs > 0) await sleep(turn.delayMs, undefined, { signal })
    const fault = turn.fault

    if (fault?.type === 'hang') {
      // Never answer; the client's abort (or close()) destroys the socket and ends this wait.
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve()
        signal.addEventListener('abort', () => resolve(), { once: true })
      })
      return
    }

    if (fault?.type === 'error') {
      const retryAfter = fault.retryAfterSeconds ?? (fault.status === 429 ? 0 : undefined)
      sendJson(response, fault.status, codec.errorBody(fault.status, fault.message), {
        ...(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }),
      })
      return
    }

    if (fault?.type === 'malformed') {
      if (stream) {
        await this.#sendFrames(response, codec.malformedFrames(context), signal)
        response.end()
      } else {
        const text = `{"id":"${context.id}","object":"broken","choices":[{"index":0,<<not json>>`
        response.writeHead(200, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        })
        response.end(text)
      }
      return
    }

    if (fault?.type === 'cut-stream') {
      if (stream) {
        const script = codec.frames(turn, context)
        await this.#sendFrames(response, script.frames.slice(0, script.cutAfter), signal)
      } else {
        const bytes = Buffer.from(JSON.stringify(codec.body(turn, context)))
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes.length })
        await write(response, bytes.subarray(0, Math.floor(bytes.length / 2)), signal)
      }
      // Cut the connection without the terminating events (or the rest of the body).
      response.socket?.destroy()
      return
    }

    if (stream) {
      await this.#sendFrames(response, codec.frames(turn, context).frames, signal)
      response.end()
    } else {
      sendJson(response, 200, codec.body(turn, context))
    }
  }

  async #sendFrames(response: ServerResponse, frames: readonly string[], signal: AbortSignal): Promise<void> {
    if (!response.headersSent) {
      response.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      })
      response.flushHeaders()
    }
    for (const [position, frame] of frames.entries()) {
      signal.throwIfAborted()
      if (position > 0 && this.#frameDelayMs > 0) await sleep(this.#frameDelayMs, undefined, { signal })
      await write(response, frame, signal)
    }
  }

  /** Answers with the protocol's error body and records the error; the SDKs are told not to retry. */
  #fail(response: ServerResponse, codec: ProtocolCodec | undefined, status: number, error: Error): void {
    this.errors.push(error)
    if (response.headersSent || response.destroyed) {
      response.destroy()
      return
    }
    // Without a protocol, one body both SDKs read: `error.message` and `error.type` exist either way.
    const type = status === 404 ? 'not_found_error' : 'api_error'
    const body = codec
      ? codec.errorBody(status, error.message)
      : {
          type: 'error',
          error: { type, message: error.message, code: status === 404 ? 'unknown_url' : null },
        }
    sendJson(response, status, body, { 'x-should-retry': 'false' })
  }
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body)
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  })
  response.end(text)
}

/** Writes a chunk and waits until it is handed to the socket, or until the client is gone. */
function write(response: ServerResponse, chunk: string | Uint8Array, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
    response.write(chunk, done)
  })
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function flattenHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return headers
}
