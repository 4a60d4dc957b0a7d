/** Headers that carry credentials or sessions, never written to a cassette. */
const SECRET_HEADERS = new Set([
  'authorization',
  'x-api-key',
  'api-key',
  'openai-organization',
  'openai-project',
  'cookie',
  'set-cookie',
  'proxy-authorization',
])

/** Any header whose name contains one of these is treated as secret too (`x-goog-api-key`, `x-auth-token`...). */
const SECRET_NAME_PARTS = ['key', 'token', 'secret', 'auth']

/** Query parameters that carry API keys (Gemini's `?key=`, Azure's `?api-key=`). */
const SECRET_QUERY_PARAMETERS = new Set(['key', 'api_key', 'api-key'])

/**
 * Headers about the connection and the encoded body, left out: cassettes keep the body decoded,
 * so these would lie on replay.
 */
const TRANSPORT_HEADERS = new Set([
  'content-encoding',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
])

/** Whether a header must never be written to a cassette. */
export function isSecretHeader(name: string): boolean {
  const lower = name.toLowerCase()
  return SECRET_HEADERS.has(lower) || SECRET_NAME_PARTS.some((part) => lower.includes(part))
}

/** The headers that may be written, names in lower case, sorted. */
export function scrubHeaders(headers: Headers): Record<string, string> {
  const kept: Record<string, string> = {}
  for (const [name, value] of [...headers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!isSecretHeader(name) && !TRANSPORT_HEADERS.has(name)) kept[name] = value
  }
  return kept
}

/** Removes the headers about the connection and an encoding the body no longer has. */
export function withoutTransportHeaders(headers: Headers): Headers {
  const copy = new Headers(headers)
  for (const name of TRANSPORT_HEADERS) copy.delete(name)
  return copy
}

/** The URL without the query parameters that carry API keys; unchanged (byte for byte) when it has none. */
export function scrubUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return url
  }
  const secret = [...parsed.searchParams.keys()].filter((name) =>
    SECRET_QUERY_PARAMETERS.has(name.toLowerCase()),
  )
  if (secret.length === 0) return url
  for (const name of secret) parsed.searchParams.delete(name)
  return parsed.href
}

/** Shorter pieces of a credential are not searched for in bodies: they would match ordinary text. */
const MIN_SECRET_LENGTH = 8

/**
 * The credentials a request carries (values of its secret headers and key query parameters, and
 * their parts: the token after `Bearer`, the value of a cookie, the password of `Basic`
 * credentials), to redact wherever else they appear. Longest first.
 */
export function requestSecrets(headers: Headers, url: string): string[] {
  const values: string[] = []
  for (const [name, value] of headers) if (isSecretHeader(name)) values.push(value)
  try {
    for (const [name, value] of new URL(url).searchParams) {
      if (SECRET_QUERY_PARAMETERS.has(name.toLowerCase())) values.push(value)
    }
  } catch {
    // Not a parseable URL: no query parameters to take.
  }
  const secrets = new Set<string>()
  const add = (piece: string) => {
    const trimmed = piece.trim()
    if (trimmed.length >= MIN_SECRET_LENGTH) secrets.add(trimmed)
  }
  for (const value of values) {
    add(value)
    for (const piece of value.split(/[\s;,]+/)) {
      // `name=value` (a cookie) gives its value; a value ending in `=` (base64 padding) stays whole.
      const assignment = /^[A-Za-z0-9_.-]{1,64}=([^=].*)$/.exec(piece)
      add(assignment ? assignment[1]! : piece)
    }
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(value.trim())
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8')
      add(decoded)
      if (decoded.includes(':')) add(decoded.slice(decoded.indexOf(':') + 1))
    }
  }
  return [...secrets].sort((a, b) => b.length - a.length)
}
