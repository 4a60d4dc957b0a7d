import { bodyBytes, readBody, type StoredBody, storeBody } from './body.js'
import {
  type CassetteInteraction,
  type CassetteResponse,
  type FetchFunction,
  readCassette,
} from './cassette.js'
import { collectSecrets, Redactor } from './redaction.js'
import { scrubUrl } from './scrub.js'

/** Options of `replayingFetch`. */
export interface ReplayingFetchOptions {
  /** The cassette file written by `recordingFetch`. Read once, when `replayingFetch` is called. */
  file: string
  /**
   * Let `assertAllUsed()` pass although some recordings were never replayed: for a cassette shared
   * by tests that each replay a part of it. Default `false`.
   */
  allowUnused?: boolean
}

/** One request the replaying fetch received. */
export interface ReplayedCall {
  method: string
  url: string
  /** The request body as text (base64 for a binary body), `null` when it had none. */
  body: string | null
  /** Index in the cassette of the recording that answered, or `undefined` when none matched and the call was refused. */
  interaction: number | undefined
}

/** A `fetch` that replays a cassette; also tells what it served. */
export interface ReplayingFetch extends FetchFunction {
  /** The cassette file replayed. */
  readonly file: string
  /** Every request received, in order, with the recording that answered it. */
  readonly calls: readonly ReplayedCall[]
  /** The recordings not replayed yet, in cassette order. */
  unused(): CassetteInteraction[]
  /** Throws, listing them, when some recordings were never replayed (unless `allowUnused`). */
  assertAllUsed(): void
}

/** A request that a cassette has no (unused) recording for. */
export class UnrecordedRequestError extends Error {
  override name = 'UnrecordedRequestError'

  constructor(
    message: string,
    /** The cassette file. */
    readonly file: string,
    /** The request's method. */
    readonly method: string,
    /** The request's URL, without key query parameters. */
    readonly url: string,
    /** The request's body as text, `null` when it had none. */
    readonly body: string | null,
  ) {
    super(message)
  }
}

/** Statuses whose responses never have a body (`new Response` refuses one). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304])

/** How much of a request body an error message shows. */
const EXCERPT_LENGTH = 120

/**
 * A `fetch` that answers from a cassette recorded by `recordingFetch`, without network. Pass it as
 * the `fetch` option of any SDK client: `new OpenAI({ apiKey: 'test', fetch: replayingFetch({ file }) })`.
 *
 * A request matches a recording with the same method, URL and body (JSON bodies are compared
 * parsed, so key order does not matter; headers are ignored). Identical requests get their
 * recordings in recorded order, each used once. A request with no unused match rejects with an
 * `UnrecordedRequestError` naming the method, the URL and the start of the body. Streamed (SSE)
 * responses replay as a stream, one event per chunk, and an aborted request errors its body like
 * a real fetch.
 */
export function replayingFetch(options: ReplayingFetchOptions): ReplayingFetch {
  const { file, allowUnused = false } = options
  const { interactions } = readCassette(file)
  const keys = interactions.map((interaction) =>
    recordedKey(interaction.request.method, interaction.request.url, interaction.request),
  )
  const used = interactions.map(() => false)
  const calls: ReplayedCall[] = []

  const replaying = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init)
    request.signal.throwIfAborted()
    const stored = storeBody(await readBody(request))
    const key = requestKey(request.method, request.url, stored)
    const index = keys.findIndex((candidate, position) => !used[position] && sameRequest(candidate, key))
    calls.push({
      method: request.method,
      url: request.url,
      body: stored.body,
      interaction: index === -1 ? undefined : index,
    })
    if (index === -1) {
      // The URL and body with the request's secrets redacted: the message ends up in CI logs.
      const secrets = collectSecrets({ headers: request.headers, url: request.url, body: stored })
      const redactor = new Redactor(secrets.map(({ value }) => value))
      const url = redactor.url(request.url)
      const shown = redactor.body(stored, request.headers.get('content-type'), true)
      throw new UnrecordedRequestError(
        `Cassette ${file} has no recording for ${request.method} ${url} ${excerpt(shown)}: ` +
          `record it again with recordingFetch.${hint(key)}`,
        file,
        request.method,
        url,
        shown.body,
      )
    }
    used[index] = true
    return replayResponse(interactions[index]!.response, request.url, request.signal)
  }

  /** Why nothing matched, when the cassette has something close. */
  const hint = (key: RequestKey): string => {
    const sameTarget = keys.filter((candidate) => candidate.method === key.method && sameUrl(candidate, key))
    if (sameTarget.length === 0) return ''
    const identical = sameTarget.filter((candidate) => sameBody(candidate, key)).length
    if (identical > 0) {
      return ` Its ${identical} recording(s) of this exact request were all replayed already: the code now sends it more often than when it was recorded.`
    }
    return ` It has ${sameTarget.length} recording(s) of ${key.method} ${key.url} with another body, such as ${excerpt(sameTarget[0]!.stored)}.`
  }

  const unused = () => interactions.filter((_, index) => !used[index])

  return Object.defineProperties(replaying, {
    file: { value: file, enumerable: true },
    calls: { value: calls, enumerable: true },
    unused: { value: unused },
    assertAllUsed: {
      value: () => {
        const left = unused()
        if (left.length === 0 || allowUnused) return
        const list = left
          .map(({ request }) => `${request.method} ${request.url} ${excerpt(request)}`)
          .join('; ')
        throw new Error(
          `Cassette ${file} has ${left.length} recording(s) that were never replayed: ${list}. ` +
            'The code sent fewer requests than when the cassette was recorded: record it again, or pass allowUnused.',
        )
      },
    },
  }) as ReplayingFetch
}

/** What a request is matched on, normalised. */
interface RequestKey {
  method: string
  url: string
  body: string
  /** The body as given, for messages. */
  stored: StoredBody
  /** For a recording whose URL holds `[REDACTED]`: the URLs it matches, any value in place of each. */
  urlPattern?: RegExp
  /** For a recording whose body holds `[REDACTED]`: the bodies it matches, any value in place of each. */
  bodyPattern?: RegExp
}

function requestKey(method: string, url: string, stored: StoredBody): RequestKey {
  return {
    method: method.toUpperCase(),
    url: normalizeUrl(url),
    body: canonicalBody(stored).text,
    stored,
  }
}

/**
 * The key of a recording. Where the recording had a secret redacted, `[REDACTED]` stands for any
 * value (within one URL part, within one JSON string), so that a client sending its own key (or
 * another one) still gets the recording.
 */
function recordedKey(method: string, url: string, stored: StoredBody): RequestKey {
  const key = requestKey(method, url, stored)
  const urlPattern = wildcard(key.url, '[^/?#&]*?')
  const bodyPattern = wildcard(key.body, canonicalBody(stored).json ? '(?:[^"\\\\]|\\\\.)*?' : '[\\s\\S]*?')
  return {
    ...key,
    ...(urlPattern ? { urlPattern } : {}),
    ...(bodyPattern ? { bodyPattern } : {}),
  }
}

const REDACTED_TOKEN = /\[REDACTED\]|%5BREDACTED%5D/

/** An anchored expression matching `text` with `any` in place of each `[REDACTED]`; `undefined` when it has none. */
function wildcard(text: string, any: string): RegExp | undefined {
  if (!REDACTED_TOKEN.test(text)) return undefined
  const parts = text.split(new RegExp(REDACTED_TOKEN.source, 'g'))
  return new RegExp(`^${parts.map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join(any)}$`)
}

function sameUrl(recorded: RequestKey, key: RequestKey): boolean {
  return recorded.url === key.url || (recorded.urlPattern?.test(key.url) ?? false)
}

function sameBody(recorded: RequestKey, key: RequestKey): boolean {
  return recorded.body === key.body || (recorded.bodyPattern?.test(key.body) ?? false)
}

function sameRequest(recorded: RequestKey, key: RequestKey): boolean {
  return recorded.method === key.method && sameUrl(recorded, key) && sameBody(recorded, key)
}

/** The URL without secret query parameters, its parameters sorted. */
function normalizeUrl(url: string): string {
  try {
    const parsed = new URL(scrubUrl(url))
    parsed.searchParams.sort()
    return parsed.href
  } catch {
    return url
  }
}

/**
 * JSON re-serialised with sorted keys, so that key order does not matter; binary bodies as one
 * character per byte; other bodies as they are.
 */
function canonicalBody(stored: StoredBody): { text: string; json: boolean } {
  if (stored.body === null) return { text: '', json: false }
  if (stored.bodyEncoding === 'base64') {
    return { text: `binary:${Buffer.from(stored.body, 'base64').toString('latin1')}`, json: false }
  }
  try {
    return { text: JSON.stringify(sortKeys(JSON.parse(stored.body))), json: true }
  } catch {
    return { text: stored.body, json: false }
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  )
}

function excerpt(stored: StoredBody): string {
  if (stored.body === null || stored.body === '') return '(no body)'
  if (stored.bodyEncoding === 'base64')
    return `(binary body, ${Buffer.from(stored.body, 'base64').length} bytes)`
  const flat = stored.body.replace(/\s+/g, ' ')
  return flat.length > EXCERPT_LENGTH ? `${flat.slice(0, EXCERPT_LENGTH)}...` : flat
}

/** A `Response` from a recording; an event stream comes one event per chunk, and `signal` errors the body. */
function replayResponse(recorded: CassetteResponse, url: string, signal: AbortSignal): Response {
  const headers = new Headers(recorded.headers)
  const bytes = NULL_BODY_STATUSES.has(recorded.status) ? null : bodyBytes(recorded)
  let body: ReadableStream<Uint8Array> | null = null
  if (bytes !== null) {
    const chunks =
      recorded.bodyEncoding === undefined && isEventStream(headers)
        ? eventChunks(recorded.body ?? '')
        : [bytes]
    let finished = false
    let onAbort: (() => void) | undefined
    const finish = () => {
      finished = true
      if (onAbort) signal.removeEventListener('abort', onAbort)
    }
    body = new ReadableStream<Uint8Array>({
      start(controller) {
        onAbort = () => {
          if (finished) return
          finish()
          controller.error(signal.reason)
        }
        signal.addEventListener('abort', onAbort, { once: true })
      },
      pull(controller) {
        const chunk = chunks.shift()
        if (chunk === undefined) {
          finish()
          controller.close()
        } else {
          controller.enqueue(chunk)
        }
      },
      cancel: finish,
    })
  }
  const response = new Response(body, { status: recorded.status, statusText: recorded.statusText, headers })
  Object.defineProperty(response, 'url', { value: url })
  return response
}

function isEventStream(headers: Headers): boolean {
  return headers.get('content-type')?.toLowerCase().includes('text/event-stream') ?? false
}

/** Splits an SSE body after each blank line, so that every event arrives as its own chunk. */
function eventChunks(text: string): Uint8Array[] {
  const encoder = new TextEncoder()
  return text
    .split(/(?<=\r?\n\r?\n)/)
    .filter((part) => part.length > 0)
    .map((part) => encoder.encode(part))
}
