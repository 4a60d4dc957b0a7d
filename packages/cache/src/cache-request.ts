import { createHash } from 'node:crypto'
import { configure } from 'safe-stable-stringify'

/** A request as the cache sees it: what its key and its determinism are decided from. */
export interface ResponseCacheRequest {
  /** `POST`. */
  method: string
  /** The URL without the query parameters that carry credentials (`key`, `api_key`, `token`...). */
  url: string
  /** The URL's path (`/v1/chat/completions`). */
  path: string
  /**
   * The request headers that change what the provider answers (`anthropic-version`,
   * `anthropic-beta`, `openai-beta`), names lower-case. Credentials are never here.
   */
  headers: Record<string, string>
  /** The parsed JSON body: model, messages, tools, settings. */
  body: Record<string, unknown>
}

/** Request headers that select an API version or feature, and so change the answer. */
const answerHeaders = ['anthropic-version', 'anthropic-beta', 'openai-beta'] as const

/** Query parameters and headers whose values are credentials. */
const credentialName = /key|token|secret|auth|sig|password/i

/**
 * Body fields that name who asks, never what is answered: left out of the default key so that
 * runs for different users of the same eval share entries.
 */
const identityFields = new Set(['user', 'metadata', 'safety_identifier', 'prompt_cache_key'])

/** JSON with keys sorted at every depth: the same request always gives the same text. */
const stableStringify = configure({ deterministic: true, circularValue: Error, bigint: false })

/** Bodies the cache can key: a JSON object sent as a string or bytes. */
async function bodyTextOf(input: string | URL | Request, init: RequestInit | undefined) {
  const body = init?.body
  if (typeof body === 'string') return body
  if (body instanceof Uint8Array) return new TextDecoder().decode(body)
  if (body instanceof ArrayBuffer) return new TextDecoder().decode(new Uint8Array(body))
  if (body === undefined && input instanceof Request && input.body !== null && !input.bodyUsed)
    return input.clone().text()
  return undefined
}

/**
 * The request of a fetch call when the cache can key it (a `POST` with a JSON object body), and
 * the credentials it carries (to keep them out of stored answers); `undefined` otherwise.
 */
export async function readCacheRequest(
  input: string | URL | Request,
  init: RequestInit | undefined,
): Promise<{ request: ResponseCacheRequest; credentials: string[] } | undefined> {
  const original = input instanceof Request ? input : undefined
  const method = (init?.method ?? original?.method ?? 'GET').toUpperCase()
  if (method !== 'POST') return undefined
  const text = await bodyTextOf(input, init)
  if (text === undefined) return undefined
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined
  let url: URL
  try {
    url = new URL(original ? original.url : String(input))
  } catch {
    return undefined
  }
  const credentials: string[] = []
  for (const [name, value] of [...url.searchParams]) {
    if (!credentialName.test(name)) continue
    credentials.push(value)
    url.searchParams.delete(name)
  }
  const headers = new Headers(init?.headers ?? original?.headers)
  for (const [name, value] of headers) {
    if (credentialName.test(name)) credentials.push(value.replace(/^(?:Bearer|Basic)\s+/i, ''))
  }
  const kept: Record<string, string> = {}
  for (const name of answerHeaders) {
    const value = headers.get(name)
    if (value !== null) kept[name] = value
  }
  url.searchParams.sort()
  return {
    request: {
      method,
      url: url.toString(),
      path: url.pathname,
      headers: kept,
      body: body as Record<string, unknown>,
    },
    credentials: credentials.map((value) => value.trim()).filter((value) => value.length >= 8),
  }
}

/**
 * What identifies a request by default: its method, path and query (never the host: the same
 * request to a test server and to the provider shares an entry), the headers that change the
 * answer, and the body less the fields that name who asks (`user`, `metadata`,
 * `safety_identifier`, `prompt_cache_key`).
 */
export function defaultCacheKey(request: ResponseCacheRequest): unknown {
  const url = new URL(request.url)
  const body: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(request.body)) if (!identityFields.has(name)) body[name] = value
  return { method: request.method, path: url.pathname, query: url.search, headers: request.headers, body }
}

/** The store key of a request: the hex SHA-256 of its key material and the namespace. */
export function hashKey(material: unknown, namespace: string): string {
  const text = stableStringify({ version: 1, namespace, key: material })
  if (typeof text !== 'string') throw new TypeError('The cache key of the request is not JSON.')
  return createHash('sha256').update(text).digest('hex')
}

/**
 * Whether a request asks for an answer the provider gives the same way each time: one choice
 * (`n` / `candidateCount` at most 1), sampled greedily (`temperature: 0`, or `top_k: 1`) or with a
 * fixed `seed`. A request that leaves `temperature` unset samples at the provider's default,
 * above 0 at OpenAI and Anthropic: it is not deterministic. Gemini's `generationConfig` is read
 * too.
 */
export function isDeterministic(body: Record<string, unknown>): boolean {
  const nested = body.generationConfig
  const settings =
    typeof nested === 'object' && nested !== null ? { ...body, ...(nested as Record<string, unknown>) } : body
  const choices = settings.n ?? settings.candidateCount
  if (typeof choices === 'number' && choices > 1) return false
  if (settings.temperature === 0) return true
  if (settings.top_k === 1 || settings.topK === 1) return true
  return typeof settings.seed === 'number'
}
