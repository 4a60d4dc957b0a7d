import { InvalidOptionsError } from '@runner/core'
import { knownSecrets, REDACTED, redactPattern, redactSecrets } from '@runner/core/store'
import type { StoredBody } from './body.js'
import { isSecretHeader, requestSecrets, scrubHeaders, scrubUrl } from './scrub.js'

/** A value to redact, and where it came from (named in errors; the value never is). */
export interface KnownSecret {
  value: string
  /** Such as `request header authorization`, `request body field nested.apiKey`, `options.secrets[0]`. */
  source: string
}

/** Shorter values found in a request are redacted where they are, not searched for elsewhere. */
const MIN_SEARCHED_LENGTH = 8

/** JSON and form field names (lower case, without `-`, `_`, `.` and spaces) whose values are secrets. */
const SECRET_FIELD_NAMES = new Set([
  'key',
  'apikey',
  'xapikey',
  'token',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'authtoken',
  'sessiontoken',
  'bearertoken',
  'secret',
  'clientsecret',
  'secretkey',
  'privatekey',
  'accesskey',
  'password',
  'passwd',
  'passphrase',
  'authorization',
  'auth',
  'credential',
  'credentials',
])

/** Names ending like this are secret too (`openaiApiKey`, `githubToken` is not: `max_tokens` must stay). */
const SECRET_FIELD_SUFFIXES = [
  'apikey',
  'secret',
  'password',
  'passwd',
  'accesstoken',
  'authtoken',
  'refreshtoken',
  'sessiontoken',
  'secretkey',
  'privatekey',
]

/** Whether a JSON or form field of a request body holds a secret, by its name. */
export function isSecretFieldName(name: string): boolean {
  const normalized = name.toLowerCase().replace(/[-_.\s]/g, '')
  return (
    SECRET_FIELD_NAMES.has(normalized) || SECRET_FIELD_SUFFIXES.some((suffix) => normalized.endsWith(suffix))
  )
}

/** The forms a value takes in text: as is, JSON-escaped, percent-encoded, form-encoded. */
export function textForms(value: string): string[] {
  const forms = new Set([value])
  forms.add(JSON.stringify(value).slice(1, -1))
  forms.add(encodeURIComponent(value))
  forms.add(encodeURI(value))
  forms.add(new URLSearchParams([['', value]]).toString().slice(1))
  return [...forms].filter((form) => form.length > 0)
}

/** Checks the `secrets` and `secretPatterns` options; throws `InvalidOptionsError` naming the field. */
export function checkSecretOptions(secrets: unknown, secretPatterns: unknown): void {
  const issues: Array<{ field: string; message: string }> = []
  if (secrets !== undefined) {
    if (!Array.isArray(secrets)) issues.push({ field: 'secrets', message: 'must be an array of strings' })
    else {
      for (const [index, value] of secrets.entries()) {
        if (typeof value !== 'string' || value.trim() === '') {
          issues.push({
            field: `secrets[${index}]`,
            message: 'must be a non-empty string (the secret value to redact)',
          })
        }
      }
    }
  }
  if (secretPatterns !== undefined) {
    if (!Array.isArray(secretPatterns)) {
      issues.push({ field: 'secretPatterns', message: 'must be an array of RegExp' })
    } else {
      for (const [index, pattern] of secretPatterns.entries()) {
        if (!(pattern instanceof RegExp)) {
          issues.push({ field: `secretPatterns[${index}]`, message: 'must be a RegExp' })
        } else if (new RegExp(`^(?:${pattern.source})$`, pattern.flags.replace(/[gy]/g, '')).test('')) {
          issues.push({
            field: `secretPatterns[${index}]`,
            message: `${pattern} matches an empty string; make it match the secret itself`,
          })
        }
      }
    }
  }
  if (issues.length > 0) throw new InvalidOptionsError(issues, { subject: 'recordingFetch options' })
}

/**
 * Every secret of one interaction: the request's credentials (secret headers, key query
 * parameters), the values of its secret-named body fields, every value core knows (registered,
 * environment) and the values listed in the options. Longest first.
 */
export function collectSecrets(
  request: { headers: Headers; url: string; body: StoredBody },
  listed: readonly string[] = [],
): KnownSecret[] {
  const found = new Map<string, string>()
  const add = (value: string, source: string) => {
    if (!found.has(value)) found.set(value, source)
  }
  for (const [index, value] of listed.entries()) {
    add(value, `options.secrets[${index}]`)
    if (value.trim() !== value) add(value.trim(), `options.secrets[${index}]`)
  }
  for (const [name, value] of request.headers) {
    if (!isSecretHeader(name)) continue
    for (const part of requestSecrets(new Headers([[name, value]]), '')) add(part, `request header ${name}`)
  }
  for (const value of requestSecrets(new Headers(), request.url))
    add(value, 'a key query parameter of the request URL')
  for (const { value, path } of bodyFieldSecrets(request.body, request.headers.get('content-type'))) {
    if (value.length >= MIN_SEARCHED_LENGTH) add(value, `request body field ${path}`)
  }
  for (const value of knownSecrets())
    add(value, 'a value registered with registerSecret or an environment variable')
  return [...found]
    .map(([value, source]) => ({ value, source }))
    .sort((a, b) => b.value.length - a.value.length)
}

/** The string values of secret-named fields in a request body: JSON (whole, or per line / SSE `data:`) and form-urlencoded. */
export function bodyFieldSecrets(
  stored: StoredBody,
  contentType: string | null,
): Array<{ value: string; path: string }> {
  if (stored.body === null || stored.bodyEncoding !== undefined) return []
  const found: Array<{ value: string; path: string }> = []
  if (isForm(contentType)) {
    for (const [name, value] of new URLSearchParams(stored.body)) {
      if (isSecretFieldName(name) && value !== '') found.push({ value, path: name })
    }
    return found
  }
  for (const document of jsonDocuments(stored.body)) collectFields(document, '', found)
  return found
}

function collectFields(value: unknown, path: string, found: Array<{ value: string; path: string }>): void {
  const stack: Array<[unknown, string]> = [[value, path]]
  while (stack.length > 0) {
    const [current, at] = stack.pop()!
    if (Array.isArray(current)) {
      for (const [index, item] of current.entries()) stack.push([item, `${at}[${index}]`])
    } else if (current !== null && typeof current === 'object') {
      for (const [key, item] of Object.entries(current)) {
        const next = at === '' ? key : `${at}.${key}`
        if (typeof item === 'string' && isSecretFieldName(key) && item !== '')
          found.push({ value: item, path: next })
        else stack.push([item, next])
      }
    }
  }
}

/** The JSON values of a body: the whole body, or each line (an SSE `data:` line, an NDJSON line). */
export function jsonDocuments(text: string): unknown[] {
  const whole = parseJson(text)
  if (whole !== undefined) return [whole.value]
  const documents: unknown[] = []
  for (const line of text.split(/\r?\n/)) {
    const parsed = parseJson(line.replace(/^data:\s?/, ''))
    if (parsed !== undefined) documents.push(parsed.value)
  }
  return documents
}

/** `{ value }` when `text` is a JSON object or array; `undefined` otherwise (plain text, numbers). */
export function parseJson(text: string): { value: unknown } | undefined {
  const start = text.trimStart()[0]
  if (start !== '{' && start !== '[') return undefined
  try {
    return { value: JSON.parse(text) }
  } catch {
    return undefined
  }
}

function isForm(contentType: string | null): boolean {
  return contentType?.toLowerCase().includes('application/x-www-form-urlencoded') ?? false
}

/** Decodes `%XX` sequences (and `+` as a space when `form`), leaving malformed ones as they are. */
export function percentDecode(text: string, form = false): string {
  const spaced = form ? text.replaceAll('+', ' ') : text
  try {
    return decodeURIComponent(spaced)
  } catch {
    return spaced.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run)
      } catch {
        return run
      }
    })
  }
}

const ENCODED_REDACTED = encodeURIComponent(REDACTED)

/**
 * Replaces secrets by `[REDACTED]` in every part of an interaction: by value (each known secret in
 * its raw, JSON-escaped and percent-encoded forms, and inside decoded JSON strings and decoded
 * percent-encoding), by the caller's patterns, and by core's `redactSecrets` (registered values,
 * environment values, built-in key shapes).
 */
export class Redactor {
  private readonly expression: RegExp | undefined
  private readonly binaryExpression: RegExp | undefined
  private readonly patterns: RegExp[]

  constructor(secrets: readonly string[], patterns: readonly RegExp[] = []) {
    const forms = new Set<string>()
    const binaryForms = new Set<string>()
    for (const secret of secrets) {
      for (const form of textForms(secret)) {
        forms.add(form)
        binaryForms.add(Buffer.from(form, 'utf8').toString('latin1'))
      }
    }
    this.expression = alternation(forms)
    this.binaryExpression = alternation(binaryForms)
    this.patterns = patterns.map(
      (pattern) =>
        new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`),
    )
  }

  /** A text with every secret replaced; the same string when it holds none. */
  text(text: string): string {
    const direct = this.plain(text)
    if (!direct.includes('%')) return direct
    // Percent-encoded pieces (a URL, a form value, an echoed query) are decoded and checked too.
    return direct.replace(/[^\s/?&=#;,"'<>]*%[0-9A-Fa-f]{2}[^\s/?&=#;,"'<>]*/g, (piece) => {
      const decoded = percentDecode(piece)
      if (decoded === piece) return piece
      const redacted = this.plain(decoded)
      return redacted === decoded
        ? piece
        : encodeURIComponent(redacted).replaceAll(ENCODED_REDACTED, REDACTED)
    })
  }

  /** The URL without key query parameters, secrets redacted in its path and query. */
  url(url: string): string {
    return this.text(scrubUrl(url))
  }

  /** Headers without the secret-named ones, secrets redacted in the values of the others. */
  headers(headers: Headers): Record<string, string> {
    const kept: Record<string, string> = {}
    for (const [name, value] of Object.entries(scrubHeaders(headers)))
      kept[this.text(name)] = this.text(value)
    return kept
  }

  /**
   * A body with secrets redacted: JSON (whole, or per line: SSE `data:` lines, NDJSON) by its decoded
   * strings, re-serialised only when something changed; form bodies by field; other text as text;
   * binary bodies by the UTF-8 bytes of each secret. In a request (`request: true`), the values of
   * secret-named fields (`apiKey`, `token`, `password`...) are replaced whatever they are.
   */
  body(stored: StoredBody, contentType: string | null, request: boolean): StoredBody {
    if (stored.body === null) return stored
    if (stored.bodyEncoding === 'base64') {
      const latin1 = Buffer.from(stored.body, 'base64').toString('latin1')
      const redacted = this.binary(latin1)
      return redacted === latin1
        ? stored
        : { body: Buffer.from(redacted, 'latin1').toString('base64'), bodyEncoding: 'base64' }
    }
    const text = stored.body
    if (request && isForm(contentType)) return { body: this.form(text) }
    const whole = parseJson(text)
    if (whole !== undefined) return { body: this.json(text, whole.value, request) }
    const lines = text.split(/(\r?\n)/).map((part, index) => {
      if (index % 2 === 1) return part
      const data = /^data:\s?/.exec(part)
      const prefix = data ? data[0] : ''
      const rest = part.slice(prefix.length)
      const parsed = parseJson(rest)
      return prefix + (parsed === undefined ? this.text(rest) : this.json(rest, parsed.value, request))
    })
    return { body: lines.join('') }
  }

  private json(text: string, parsed: unknown, request: boolean): string {
    const textual = this.text(text)
    if (textual === text) {
      if (this.value(parsed, request) === parsed) return text
    } else {
      // The text-level replacement keeps the original layout when it leaves valid JSON with nothing left.
      const reparsed = parseJson(textual)
      if (reparsed !== undefined && this.value(reparsed.value, request) === reparsed.value) return textual
    }
    return JSON.stringify(this.value(parsed, request))
  }

  /** A copy of a JSON value with secrets redacted in every string (keys included); the same value when none. */
  private value(value: unknown, request: boolean): unknown {
    if (typeof value === 'string') return this.text(value)
    if (Array.isArray(value)) {
      let changed = false
      const copy = value.map((item) => {
        const redacted = this.value(item, request)
        if (redacted !== item) changed = true
        return redacted
      })
      return changed ? copy : value
    }
    if (value === null || typeof value !== 'object') return value
    let changed = false
    const entries = Object.entries(value).map(([key, item]): [string, unknown] => {
      const redactedKey = this.text(key)
      const redacted =
        request && typeof item === 'string' && item !== '' && item !== REDACTED && isSecretFieldName(key)
          ? REDACTED
          : this.value(item, request)
      if (redactedKey !== key || redacted !== item) changed = true
      return [redactedKey, redacted]
    })
    return changed ? Object.fromEntries(entries) : value
  }

  private form(text: string): string {
    return text
      .split('&')
      .map((pair) => {
        const at = pair.indexOf('=')
        if (at === -1) return this.text(pair)
        const name = pair.slice(0, at)
        const value = pair.slice(at + 1)
        if (value !== '' && isSecretFieldName(percentDecode(name, true))) return `${name}=${REDACTED}`
        return `${this.text(name)}=${this.text(value)}`
      })
      .join('&')
  }

  /** Bytes as a latin1 string (one character per byte), secrets' UTF-8 bytes and key shapes replaced. */
  private binary(latin1: string): string {
    const byValue = this.binaryExpression ? latin1.replace(this.binaryExpression, REDACTED) : latin1
    return this.patterned(byValue)
  }

  private plain(text: string): string {
    return this.patterned(this.expression ? text.replace(this.expression, REDACTED) : text)
  }

  private patterned(text: string): string {
    let result = text
    for (const pattern of this.patterns) {
      result = redactPattern(result, pattern)
    }
    return redactSecrets(result)
  }
}

function alternation(forms: Set<string>): RegExp | undefined {
  if (forms.size === 0) return undefined
  const sorted = [...forms].sort((a, b) => b.length - a.length)
  return new RegExp(sorted.map((form) => form.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'), 'g')
}
