import { existsSync } from 'node:fs'
import { readBody, storeBody } from './body.js'
import {
  type Cassette,
  type CassetteInteraction,
  type FetchFunction,
  readCassette,
  writeCassette,
} from './cassette.js'
import { checkSecretOptions, collectSecrets, Redactor } from './redaction.js'
import { withoutTransportHeaders } from './scrub.js'
import { CassetteSecretError, findSecrets } from './secret-check.js'

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
  /**
   * More values to redact wherever they appear (a database password, a customer's token), on top of
   * the request's credentials, its secret-named body fields and every value `@runner/core` knows
   * (`registerSecret`, environment variables named like keys). Checked like them before writing.
   */
  secrets?: string[]
  /**
   * Patterns whose matches are redacted in every written string (a named group `secret` limits the
   * replacement to that group). A pattern must not match an empty string.
   */
  secretPatterns?: RegExp[]
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
 * recorded.
 *
 * Credentials are never written. Authorization, API key, organization, cookie and similar headers
 * are dropped (and any header whose name contains `key`, `token`, `secret` or `auth`), and so are
 * the `key`, `api_key` and `api-key` query parameters. Then every secret is redacted by value
 * (`[REDACTED]`) wherever it appears: header values of any name, the URL's path and query, text
 * and JSON bodies (JSON strings decoded, so `\u` escapes do not hide a key; SSE `data:` and NDJSON
 * lines alike) and the bytes of binary bodies. The secrets are the request's credentials, the
 * values of secret-named fields of its body (`apiKey`, `token`, `password`... at any depth; those
 * fields are replaced whatever their value), every value core knows (`registerSecret`,
 * environment variables named like keys), and the `secrets` option; `secretPatterns` and core's
 * `redactSecrets` (key shapes such as `sk-…`) apply to every written string too.
 *
 * Before writing, the interaction is searched for every one of those values, raw, JSON-escaped,
 * percent-encoded, base64-encoded and inside binary bodies (UTF-8 and UTF-16). If one remains, the
 * file is not written and the fetch rejects with a `CassetteSecretError` naming the file, the
 * interaction and the fields (never the secret).
 */
export function recordingFetch(options: RecordingFetchOptions): RecordingFetch {
  const { file } = options
  checkSecretOptions(options.secrets, options.secretPatterns)
  const listed = [...(options.secrets ?? [])]
  const patterns = [...(options.secretPatterns ?? [])]
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
    const storedRequest = storeBody(requestBody)
    const secrets = collectSecrets(
      { headers: request.headers, url: request.url, body: storedRequest },
      listed,
    )
    const redactor = new Redactor(
      secrets.map(({ value }) => value),
      patterns,
    )
    const interaction: CassetteInteraction = {
      request: {
        method: request.method,
        url: redactor.url(request.url),
        headers: redactor.headers(request.headers),
        ...redactor.body(storedRequest, request.headers.get('content-type'), true),
      },
      response: {
        status: response.status,
        statusText: redactor.text(response.statusText),
        headers: redactor.headers(response.headers),
        ...redactor.body(storeBody(responseBody), response.headers.get('content-type'), false),
      },
    }
    const findings = findSecrets(interaction, secrets)
    if (findings.length > 0) {
      const urlIsClean = !findings.some(({ path }) => path === 'request.url')
      throw new CassetteSecretError(
        file,
        cassette.interactions.length,
        request.method,
        findings,
        urlIsClean ? interaction.request.url : undefined,
      )
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
