import { existsSync } from 'node:fs'
import { readBody, type StoredBody, storeBody } from './body.js'
import {
  type Cassette,
  type CassetteInteraction,
  type FetchFunction,
  readCassette,
  writeCassette,
} from './cassette.js'
import { redact, requestSecrets, scrubHeaders, scrubUrl, withoutTransportHeaders } from './scrub.js'

/** Options of `recordingFetch`. */
export interface RecordingFetchOptions {
  /** The cassette file (JSON). Its directory is created when missing. */
  file: string
  /** The fetch that reaches the real provider. Default: `globalThis.fetch`. */
  fetch?: FetchFunction
  /**
   * Keep the interactions already in `file` and add the new ones after them. Default `false`: the
   * first recorded interaction replaces whatever the file held, so a re-recording starts clean.
   */
  append?: boolean
}

/** A `fetch` that records; also tells what it recorded. */
export interface RecordingFetch extends FetchFunction {
  /** The cassette file written to. */
  readonly file: string
  /** The interactions in the cassette so far, as written (secrets removed). */
  readonly interactions: readonly CassetteInteraction[]
}

/**
 * A `fetch` that calls the real provider and records every request and response to a cassette
 * file, for `replayingFetch` to serve later without network. Pass it as the `fetch` option of any
 * SDK client: `new OpenAI({ fetch: recordingFetch({ file }) })`.
 *
 * The whole response body is read (an SSE stream to its end) before the caller gets an equivalent
 * `Response`, and the file is rewritten after each interaction, so a crash keeps what was
 * recorded. Credentials are never written: authorization, API key, organization, cookie and
 * similar headers are dropped (and any header whose name contains `key`, `token`, `secret` or
 * `auth`), and so are the `key`, `api_key` and `api-key` query parameters; where the values of
 * those credentials appear elsewhere (a URL path, an echoed error body), they are replaced by
 * `[REDACTED]`. Bodies are otherwise written as they are.
 */
export function recordingFetch(options: RecordingFetchOptions): RecordingFetch {
  const { file } = options
  const cassette: Cassette = {
    version: 1,
    interactions: options.append && existsSync(file) ? readCassette(file).interactions : [],
  }
  /** Writes in the order interactions complete, one at a time. */
  let writes: Promise<void> = Promise.resolve()

  const recording = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const realFetch = options.fetch ?? globalThis.fetch
    const request = new Request(input, init)
    const requestBody = await readBody(request)
    const response = await realFetch(request.url, {
      ...init,
      method: request.method,
      headers: request.headers,
      body: requestBody,
      signal: request.signal,
      redirect: request.redirect,
    })
    const responseBody = await readBody(response)
    const secrets = requestSecrets(request.headers, request.url)
    const interaction: CassetteInteraction = {
      request: {
        method: request.method,
        url: redact(scrubUrl(request.url), secrets),
        headers: scrubHeaders(request.headers),
        ...redactBody(storeBody(requestBody), secrets),
      },
      response: {
        status: response.status,
        statusText: response.statusText,
        headers: scrubHeaders(response.headers),
        ...redactBody(storeBody(responseBody), secrets),
      },
    }
    cassette.interactions.push(interaction)
    const snapshot: Cassette = { version: 1, interactions: [...cassette.interactions] }
    const written = writes.then(() => writeCassette(file, snapshot))
    writes = written.catch(() => {})
    await written

    const replica = new Response(responseBody, {
      status: response.status,
      statusText: response.statusText,
      headers: withoutTransportHeaders(response.headers),
    })
    Object.defineProperty(replica, 'url', { value: response.url })
    return replica
  }

  return Object.defineProperties(recording, {
    file: { value: file, enumerable: true },
    interactions: { get: () => cassette.interactions, enumerable: true },
  }) as RecordingFetch
}

/** A text body with the request's credentials redacted; binary bodies are kept as they are. */
function redactBody(stored: StoredBody, secrets: readonly string[]): StoredBody {
  if (stored.body === null || stored.bodyEncoding !== undefined) return stored
  return { body: redact(stored.body, secrets) }
}
