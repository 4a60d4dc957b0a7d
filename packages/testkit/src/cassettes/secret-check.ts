import { RunnerError } from '@runner/core'
import type { CassetteInteraction } from './cassette.js'
import { jsonDocuments, type KnownSecret, percentDecode } from './redaction.js'

/** One place where a recording still holds a secret. Never the secret itself. */
export interface SecretFinding {
  /** The field, such as `response.body` or `request.headers.x-debug`. */
  path: string
  /** How the secret appears: `raw`, `JSON-escaped`, `percent-encoded`, `base64-encoded`, `in the binary body (UTF-16)`... */
  form: string
  /** Where the secret came from: `request header authorization`, `options.secrets[0]`... */
  source: string
}

const marker = Symbol.for('runner.error.CassetteSecretError')

/**
 * A recording would still hold a known secret after redaction: the cassette file was not written
 * (it keeps what it held before) and the fetch rejects. Names the file, the interaction and the
 * fields, never the secret.
 */
export class CassetteSecretError extends RunnerError {
  readonly [marker] = true
  /** The field paths holding a secret, such as `response.body`. */
  readonly paths: string[]

  constructor(
    /** The cassette file, left as it was. */
    readonly file: string,
    /** The index the interaction would have had in the cassette. */
    readonly interaction: number,
    /** The request's method. */
    readonly method: string,
    /** Every place found. */
    readonly findings: SecretFinding[],
    url: string | undefined,
  ) {
    const places = findings.map(({ path, form, source }) => `${path} (${form}; from ${source})`).join(', ')
    super(
      `Cassette ${file}: interaction ${interaction} (${method} ${url ?? '<URL withheld: it holds the secret>'}) ` +
        `would still contain a known secret at ${places}, which redaction could not remove; nothing was written. ` +
        'Keep that value out of the recorded traffic (an encoded form is found but not rewritten), ' +
        'or redact the text that carries it with the secrets or secretPatterns options of recordingFetch.',
    )
    this.name = 'CassetteSecretError'
    this.paths = [...new Set(findings.map(({ path }) => path))]
  }

  /** True for any `CassetteSecretError`, whichever copy of the package created it. */
  static override isInstance(value: unknown): value is CassetteSecretError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true
  }
}

/**
 * Every place in an interaction (as it would be written) that still holds one of the secrets: in
 * any string field, raw, JSON-escaped, inside a decoded JSON string (whole body, SSE `data:` line,
 * NDJSON line), percent-encoded, base64-encoded (any alignment, standard or URL-safe alphabet), and
 * inside a base64 body's bytes (UTF-8 or UTF-16).
 */
export function findSecrets(
  interaction: CassetteInteraction,
  secrets: readonly KnownSecret[],
): SecretFinding[] {
  const findings: SecretFinding[] = []
  const seen = new Set<string>()
  const report = (path: string, form: string, source: string) => {
    const key = `${path}\u0000${form}\u0000${source}`
    if (seen.has(key)) return
    seen.add(key)
    findings.push({ path, form, source })
  }
  const searched = secrets.filter(({ value }) => value !== '')
  const fields = stringFields(interaction)
  for (const { path, text, binary } of fields) {
    const documents = binary ? [] : jsonStrings(text)
    const decoded = text.includes('%') ? [percentDecode(text), percentDecode(text, true)] : []
    const bytes = binary ? Buffer.from(text, 'base64') : undefined
    for (const { value, source } of searched) {
      if (text.includes(value)) report(path, 'raw', source)
      const escaped = JSON.stringify(value).slice(1, -1)
      if (escaped !== value && text.includes(escaped)) report(path, 'JSON-escaped', source)
      if (documents.some((string) => string.includes(value)))
        report(path, 'inside a decoded JSON string', source)
      if (decoded.some((string) => string.includes(value))) report(path, 'percent-encoded', source)
      if (base64Forms(value).some((form) => text.includes(form))) report(path, 'base64-encoded', source)
      if (bytes) {
        if (bytes.includes(Buffer.from(value, 'utf8'))) report(path, 'in the binary body (UTF-8)', source)
        if (bytes.includes(Buffer.from(value, 'utf16le'))) report(path, 'in the binary body (UTF-16)', source)
      }
    }
  }
  return findings
}

interface StringField {
  path: string
  text: string
  /** A base64 body. */
  binary: boolean
}

/** Every string of an interaction, header names included, with its dotted path. */
function stringFields(interaction: CassetteInteraction): StringField[] {
  const fields: StringField[] = []
  for (const side of ['request', 'response'] as const) {
    const message = interaction[side] as unknown as Record<string, unknown>
    for (const [key, value] of Object.entries(message)) {
      const path = `${side}.${key}`
      if (typeof value === 'string') {
        fields.push({ path, text: value, binary: key === 'body' && message.bodyEncoding === 'base64' })
      } else if (value !== null && typeof value === 'object') {
        for (const [name, item] of Object.entries(value)) {
          fields.push({ path: `${path}.${name}`, text: name, binary: false })
          if (typeof item === 'string') fields.push({ path: `${path}.${name}`, text: item, binary: false })
        }
      }
    }
  }
  return fields
}

/** The strings (keys and values) of the JSON documents in a text. */
function jsonStrings(text: string): string[] {
  const strings: string[] = []
  const stack = jsonDocuments(text)
  while (stack.length > 0) {
    const value = stack.pop()
    if (typeof value === 'string') strings.push(value)
    else if (Array.isArray(value)) stack.push(...value)
    else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        strings.push(key)
        stack.push(item)
      }
    }
  }
  return strings
}

/** Shorter base64 runs would match ordinary text. */
const MIN_BASE64_FORM = 8

/**
 * The base64 text a value always produces, whatever its offset in the encoded bytes: for each of
 * the three alignments, the whole 4-character groups that depend on the value's bytes only.
 */
function base64Forms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8')
  const forms = new Set<string>()
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64')
    const start = offset === 0 ? 0 : 4
    const end = Math.floor((offset + bytes.length) / 3) * 4
    const form = encoded.slice(start, end)
    if (form.length >= MIN_BASE64_FORM) {
      forms.add(form)
      forms.add(form.replaceAll('+', '-').replaceAll('/', '_'))
    }
  }
  return [...forms]
}
