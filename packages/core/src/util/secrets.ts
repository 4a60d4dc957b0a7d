import { InvalidOptionsError } from '../errors/invalid-options-error.js'

/** What a redacted secret is replaced by. */
export const REDACTED = '[REDACTED]'

/** Values shorter than this are not registered: redacting them would cut ordinary words out of text. */
export const MIN_SECRET_LENGTH = 8

/**
 * Key shapes redacted without being registered, in any text that reaches a store or a browser.
 * Where a pattern has a `secret` group, only that group is replaced (`Bearer [REDACTED]`).
 */
const BUILT_IN_PATTERNS: readonly RegExp[] = [
  // OpenAI (sk-, sk-proj-), Anthropic (sk-ant-), and most keys named after them.
  /\bsk-[A-Za-z0-9_-]{8,}/g,
  // Authorization header values quoted in errors.
  /\b(?:Bearer|Basic)\s+(?<secret>[A-Za-z0-9._~+/=-]{8,})/g,
  // Passwords in URLs: scheme://user:password@host.
  /:\/\/[^\s/:@"'\\]+:(?<secret>[^\s/@"'\\]+)@/g,
  // `api_key=...`, `"apiKey": "..."`, `token: ...`, `password=...`.
  /\b(?:api[_-]?key|access[_-]?token|auth[_-]?token|secret|password|passwd)["']?\s*[:=]\s*["']?(?<secret>[^\s"'\\,;&]{8,})/gi,
  // Cloud and provider key shapes.
  /\bAKIA[0-9A-Z]{16}\b/g,
  /\bAIza[0-9A-Za-z_-]{35}/g,
  /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})/g,
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/g,
  /\b(?:xai|gsk|hf)[-_][A-Za-z0-9]{20,}/g,
]

/** Environment variables whose values are secrets: `OPENAI_API_KEY`, `GITHUB_TOKEN`, `DB_PASSWORD`... */
const SECRET_ENV_NAME = /(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$/i

const registeredValues = new Set<string>()
const registeredPatterns: RegExp[] = []

interface Compiled {
  /** Every value to replace (registered and from the environment), longest first. */
  values: string[]
  /** One expression finding any value in its raw and JSON-escaped forms; `undefined` when there are none. */
  valueExpression: RegExp | undefined
  /** Built-in and registered patterns. */
  patterns: RegExp[]
  /** Whether some pattern or value may be in a text (one scan; the common answer is no). */
  detector: RegExp
}

let compiled: Compiled | undefined

/**
 * Registers a value to redact wherever it would be written: activity messages, trajectories,
 * pool job errors, run events sent over SSE, cassettes. Adapters register their client's API key;
 * users add their own (a database password, a customer's token). Values shorter than
 * `MIN_SECRET_LENGTH` (8) characters are ignored (they would cut ordinary words out of text): the
 * return value says whether it was registered.
 */
export function registerSecret(value: string | null | undefined): boolean {
  if (typeof value !== 'string' || value.trim().length < MIN_SECRET_LENGTH) return false
  const trimmed = value.trim()
  if (registeredValues.has(trimmed)) return true
  registeredValues.add(trimmed)
  compiled = undefined
  return true
}

/**
 * Registers a pattern whose matches are secrets (for key shapes `registerSecret` cannot list, such
 * as per-customer tokens). A named group `secret` limits the replacement to that group. The
 * pattern must not match an empty string.
 */
export function registerSecretPattern(pattern: RegExp): void {
  if (!(pattern instanceof RegExp)) {
    throw new InvalidOptionsError([{ field: 'pattern', message: 'must be a RegExp' }], {
      subject: 'secret pattern',
    })
  }
  if (new RegExp(`^(?:${pattern.source})$`, pattern.flags.replace('g', '')).test('')) {
    throw new InvalidOptionsError(
      [{ field: 'pattern', message: `${pattern} matches an empty string; make it match the secret itself` }],
      { subject: 'secret pattern' },
    )
  }
  const flags = pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`
  registeredPatterns.push(new RegExp(pattern.source, flags))
  compiled = undefined
}

/**
 * Forgets the registered values and patterns and reads the environment again at the next
 * redaction (the built-in patterns stay). For tests.
 */
export function resetSecrets(): void {
  registeredValues.clear()
  registeredPatterns.length = 0
  compiled = undefined
}

/**
 * Every value redacted by value: the registered ones and those of environment variables named like
 * secrets (`*_KEY`, `*_TOKEN`, `*_SECRET`, `*_PASSWORD`), longest first. The test kit's cassettes
 * check a recording against them before writing it.
 */
export function knownSecrets(): readonly string[] {
  return compile().values
}

/** `text` with every secret replaced by `[REDACTED]`; the same string when it holds none. */
export function redactSecrets(text: string): string {
  const { detector } = compile()
  detector.lastIndex = 0
  if (!detector.test(text)) return text
  return replaceAll(text)
}

/**
 * A copy of a JSON-like value (plain objects, arrays, strings, numbers, booleans, null) with
 * secrets redacted in every string, keys included; the same value when there are none.
 * Iterative: depth does not matter.
 */
export function redactSecretsIn<T>(value: T): T {
  if (typeof value === 'string') return redactSecrets(value) as T
  if (typeof value !== 'object' || value === null) return value
  // Cheap first: one serialisation and one scan tell whether anything needs replacing.
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch {
    text = undefined
  }
  if (text !== undefined) {
    const { detector } = compile()
    detector.lastIndex = 0
    if (!detector.test(text)) return value
    return JSON.parse(redactJsonText(text)) as T
  }
  return value
}

/**
 * JSON text with secrets redacted inside it, still valid JSON: values are matched both as they are
 * and as JSON escapes them, and no pattern crosses a quote or a backslash.
 */
export function redactJsonText(text: string): string {
  return redactSecrets(text)
}

function replaceAll(text: string): string {
  const { valueExpression, patterns } = compile()
  let result = valueExpression === undefined ? text : text.replace(valueExpression, REDACTED)
  for (const pattern of patterns) {
    pattern.lastIndex = 0
    if (!pattern.test(result)) continue
    result = redactPattern(result, pattern)
  }
  return result
}

/**
 * `text` with every match of `pattern` replaced by `[REDACTED]`, or only its named group `secret`
 * when it has one (`Bearer [REDACTED]`); what is already `[REDACTED]` stays as it is. For patterns
 * of your own (the test kit's `secretPatterns`).
 */
export function redactPattern(text: string, pattern: RegExp): string {
  pattern.lastIndex = 0
  return text.replace(pattern, replaceMatch)
}

/** A match replaced whole, or only its `secret` group. */
function replaceMatch(match: string, ...rest: unknown[]): string {
  const groups = rest.at(-1)
  const secret =
    typeof groups === 'object' && groups !== null
      ? (groups as Record<string, string | undefined>).secret
      : undefined
  if (secret === undefined || secret === '') return match === REDACTED ? match : REDACTED
  if (secret === REDACTED) return match
  const at = match.lastIndexOf(secret)
  return `${match.slice(0, at)}${REDACTED}${match.slice(at + secret.length)}`
}

function compile(): Compiled {
  if (compiled) return compiled
  const values = new Set(registeredValues)
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && SECRET_ENV_NAME.test(name) && value.trim().length >= MIN_SECRET_LENGTH) {
      values.add(value.trim())
    }
  }
  const forms = new Set<string>()
  for (const value of values) {
    forms.add(value)
    const escaped = JSON.stringify(value).slice(1, -1)
    if (escaped !== value) forms.add(escaped)
    const encoded = encodeURIComponent(value)
    if (encoded !== value) forms.add(encoded)
  }
  const sortedValues = [...values].sort((a, b) => b.length - a.length)
  const sortedForms = [...forms].sort((a, b) => b.length - a.length)
  const valueExpression =
    sortedForms.length === 0 ? undefined : new RegExp(sortedForms.map(escapeRegExp).join('|'), 'g')
  const patterns = [...BUILT_IN_PATTERNS, ...registeredPatterns]
  const detector = new RegExp(
    [...(valueExpression ? [valueExpression.source] : []), ...patterns.map(detectorSource)].join('|'),
    patterns.some((pattern) => pattern.flags.includes('i')) ? 'gi' : 'g',
  )
  compiled = { values: sortedValues, valueExpression, patterns, detector }
  return compiled
}

/**
 * A pattern's source for the combined detector: named groups renamed (two patterns may both name
 * `secret`). Case-insensitive patterns make the whole detector case-insensitive: it may then report
 * a text that holds nothing, which the exact replacement then leaves unchanged.
 */
function detectorSource(pattern: RegExp): string {
  return `(?:${pattern.source.replace(/\(\?<[A-Za-z_$][\w$]*>/g, '(?:')})`
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}
