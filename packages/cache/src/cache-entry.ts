import { redactSecrets } from '@runner/core/adapter'

/** One stored answer: what a hit replays. Secrets are never in it. */
export interface CacheEntry {
  /** The entry format. */
  version: 1
  status: number
  statusText: string
  /** The response's `content-type` (no other header is kept: none is needed to parse the answer). */
  contentType: string
  /** The whole body, as UTF-8 text (JSON, or every frame of an SSE stream). */
  body: string
  /** When it was stored and when it expires, epoch milliseconds. */
  storedAt: number
  expiresAt: number
}

/** The header a replayed response carries. */
export const CACHE_HEADER = 'x-runner-cache'

/** Response headers that describe the transfer, not the body: wrong once the body is read. */
const transportHeaders = [
  'content-encoding',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
]

/** Whether a response is of a kind the cache keeps: a success with a JSON or SSE body. */
export function isStorable(response: Response): boolean {
  if (response.status < 200 || response.status >= 300 || response.body === null) return false
  return isJson(response.headers.get('content-type')) || isEventStream(response.headers.get('content-type'))
}

function isJson(contentType: string | null): boolean {
  return contentType !== null && /^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)
}

/** Whether a content type is SSE. */
export function isEventStream(contentType: string | null): boolean {
  return contentType !== null && /^text\/event-stream\b/i.test(contentType)
}

/**
 * The last event of a protocol's SSE stream, by the request's path: `[DONE]` for Chat
 * Completions, `message_stop` for Anthropic Messages, `response.completed` / `response.incomplete`
 * for Responses; `undefined` elsewhere (a clean end of the body is then the end). SDKs stop
 * reading at that event, so the answer is stored when it arrives, not at the end of the body.
 */
export function lastEventOf(path: string): RegExp | undefined {
  if (/\/(?:chat\/)?completions$/.test(path)) return /^data:\s*\[DONE\]\s*$/m
  if (/\/messages$/.test(path)) return /^event:\s*message_stop\s*$/m
  if (/\/responses$/.test(path)) return /"type"\s*:\s*"response\.(?:completed|incomplete)"/
  return undefined
}

/**
 * Whether a body is a whole, successful answer: JSON that parses and is not an error, or an SSE
 * stream that reached its protocol's last event (`lastEventOf`; any clean end elsewhere), with
 * no error event and JSON in every event's data. A cut or malformed answer is never stored.
 */
export function isCompleteAnswer(path: string, contentType: string, text: string): boolean {
  if (isJson(contentType)) {
    try {
      const value = JSON.parse(text) as unknown
      return typeof value === 'object' && value !== null && !('error' in value && value.error)
    } catch {
      return false
    }
  }
  if (/^event:\s*error\s*$/m.test(text) || /"type"\s*:\s*"(?:error|response\.failed)"/.test(text))
    return false
  if (!(lastEventOf(path)?.test(text) ?? true)) return false
  return everyDataIsJson(text)
}

/** Whether every event's data (its `data:` lines joined) is JSON, or `[DONE]`. */
function everyDataIsJson(text: string): boolean {
  for (const frame of text.split(/\r?\n\r?\n/)) {
    const data = frame
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).replace(/^ /, ''))
      .join('\n')
    if (data === '' || data === '[DONE]') continue
    try {
      JSON.parse(data)
    } catch {
      return false
    }
  }
  return true
}

/**
 * The text to store: secrets redacted by value (the request's credentials) and by core's rules
 * (registered values, secret-named environment variables, key shapes such as `sk-…`), raw and as
 * JSON escapes them.
 */
export function withoutSecrets(text: string, credentials: readonly string[]): string {
  let result = text
  for (const secret of [...credentials].sort((a, b) => b.length - a.length)) {
    for (const form of new Set([secret, JSON.stringify(secret).slice(1, -1)]))
      result = result.split(form).join('[REDACTED]')
  }
  return redactSecrets(result)
}

/** An entry read from a store, or `undefined` when it is not one or has expired. */
export function parseEntry(text: string | undefined, now: number): CacheEntry | undefined {
  if (text === undefined) return undefined
  try {
    const entry = JSON.parse(text) as Partial<CacheEntry>
    if (
      entry.version !== 1 ||
      typeof entry.status !== 'number' ||
      typeof entry.body !== 'string' ||
      typeof entry.contentType !== 'string' ||
      typeof entry.expiresAt !== 'number' ||
      entry.expiresAt <= now
    )
      return undefined
    return entry as CacheEntry
  } catch {
    return undefined
  }
}

/** The headers a passed-through response keeps (the body is re-wrapped, so transfer headers go). */
export function bodyHeaders(headers: Headers): Headers {
  const copy = new Headers(headers)
  for (const name of transportHeaders) copy.delete(name)
  return copy
}

/**
 * A `Response` that replays an entry: JSON as one body; an SSE stream frame by frame, so that the
 * SDK parses it as the stream it was. Aborting `signal` errors the body with its reason.
 */
export function replayResponse(entry: CacheEntry, url: string, signal: AbortSignal | undefined): Response {
  const headers = new Headers({ 'content-type': entry.contentType, [CACHE_HEADER]: 'hit' })
  const encoder = new TextEncoder()
  const frames = isEventStream(entry.contentType)
    ? (entry.body.match(/[\s\S]*?(?:\r?\n\r?\n|$)/g) ?? []).filter((frame) => frame.length > 0)
    : [entry.body]
  let next = 0
  let onAbort: (() => void) | undefined
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (!signal) return
      onAbort = () => controller.error(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
    },
    pull(controller) {
      const frame = frames[next++]
      if (frame !== undefined) controller.enqueue(encoder.encode(frame))
      if (next >= frames.length) {
        if (signal && onAbort) signal.removeEventListener('abort', onAbort)
        controller.close()
      }
    },
    cancel() {
      if (signal && onAbort) signal.removeEventListener('abort', onAbort)
    },
  })
  const response = new Response(body, { status: entry.status, statusText: entry.statusText, headers })
  Object.defineProperty(response, 'url', { value: url })
  return response
}
