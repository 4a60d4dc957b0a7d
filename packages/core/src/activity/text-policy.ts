import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { ValueTooLargeError } from '../errors/value-too-large-error.js'

/**
 * The text policy of every `ActivityStore`, in one place so that all of them keep the same text.
 *
 * Two kinds of character have no place in a store: NUL (U+0000), which PostgreSQL's `text` and
 * `jsonb` refuse, and a lone surrogate (U+D800..U+DFFF without its pair), which has no UTF-8 form
 * (SQLite and PostgreSQL would keep U+FFFD instead, or refuse it in JSON).
 *
 * - What users give and look things up by (agentId, agentType, metadata keys and values, metadata
 *   filters, tool call and request ids, document namespaces and keys) is refused with an
 *   `InvalidOptionsError` naming the field and the character: a changed id or filter would find
 *   something else.
 * - Free text and JSON the runner produces (messages, checkpoints, journaled tool calls, pending
 *   requests, decisions, results, trajectories, documents) keeps U+FFFD in place of each such
 *   character: a model's or a tool's output never fails a run.
 *
 * Metadata keys `__proto__`, `constructor` and `prototype` are refused too (JavaScript code that
 * reads metadata would take them for an object's internals), and the keys and string values at
 * the top of the metadata, which the stores index for filters, are at most
 * `MAX_METADATA_TEXT_BYTES`.
 */

/** U+FFFD REPLACEMENT CHARACTER: what a NUL or a lone surrogate becomes in free text. */
const REPLACEMENT = '\uFFFD'

/**
 * The largest metadata key, and string value at the top of the metadata, in UTF-8 bytes of its
 * JSON text (quotes included): the stores index these for filters, and PostgreSQL's index rows
 * hold at most 2,704 bytes.
 */
export const MAX_METADATA_TEXT_BYTES = 1024

/** Metadata keys refused at any depth: JavaScript takes them for an object's internals. */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/** True when `text` holds a NUL or a lone surrogate (two native scans; no allocation). */
function hasUnstorable(text: string): boolean {
  return text.includes('\u0000') || !text.isWellFormed()
}

/**
 * True for a string without a NUL or a lone surrogate: an id a store can hold. A lookup by any
 * other id matches nothing (a database would look up U+FFFD in its place).
 */
export function isStorableText(text: unknown): text is string {
  return typeof text === 'string' && !hasUnstorable(text)
}

/** `text` with each NUL and lone surrogate replaced by U+FFFD; `text` itself when it has none. */
export function storableText(text: string): string {
  if (!hasUnstorable(text)) return text
  return text.replaceAll('\u0000', REPLACEMENT).toWellFormed()
}

/** Whether a JSON text may hold an escaped NUL or lone surrogate (one test, no allocation). */
const ESCAPE_HINT = /\\u(?:0000|[dD][89a-fA-F])/
/**
 * The escapes themselves: `\u0000` and `\uD800`..`\uDFFF`, preceded by an even run of backslashes
 * (so an escaped backslash followed by the letters `u0000` is left alone).
 */
const UNSTORABLE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})/g

/**
 * JSON text as `JSON.stringify` writes it, with each NUL and lone surrogate (escaped as `\u0000`
 * and `\udXXX`: `JSON.stringify` writes paired surrogates as they are) replaced by the escape of
 * U+FFFD. The text keeps its length and its UTF-8 size; it is returned as is when it has none.
 */
export function storableJsonText(json: string): string {
  if (!ESCAPE_HINT.test(json)) return json
  return json.replace(UNSTORABLE_ESCAPE, '$1\\ufffd')
}

/** `U+0000 (NUL)` or `U+D800 (a lone surrogate)`: the first unstorable character of `text`. */
function unstorableCharacter(text: string): string | undefined {
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index)
    if (unit === 0) return 'U+0000 (NUL)'
    if (unit < 0xd800 || unit > 0xdfff) continue
    const next = text.charCodeAt(index + 1)
    if (unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      index++
      continue
    }
    return `U+${unit.toString(16).toUpperCase()} (a lone surrogate)`
  }
  return undefined
}

/** A key as a segment of a field path: NUL and lone surrogates written as escapes, readable in a message. */
function pathSegment(key: string): string {
  if (!hasUnstorable(key)) return key
  let segment = ''
  for (let index = 0; index < key.length; index++) {
    const unit = key.charCodeAt(index)
    const next = key.charCodeAt(index + 1)
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      segment += key.slice(index, index + 2)
      index++
    } else if (unit === 0 || (unit >= 0xd800 && unit <= 0xdfff)) {
      segment += `\\u${unit.toString(16).padStart(4, '0')}`
    } else segment += key[index]
  }
  return segment
}

function unstorableIssue(field: string, character: string): { field: string; message: string } {
  return { field, message: `contains ${character}, which no store can keep; remove it` }
}

/**
 * Refuses an identifier or a filter value holding a NUL or a lone surrogate:
 * `InvalidOptionsError` naming `field` and the character. Free text is kept with `storableText`
 * instead.
 */
export function assertStorableText(text: string, field: string, subject: string): void {
  if (!hasUnstorable(text)) return
  throw new InvalidOptionsError([unstorableIssue(field, unstorableCharacter(text)!)], { subject })
}

/** Refuses a reserved metadata key (`__proto__`, `constructor`, `prototype`). */
function assertKeyAllowed(key: string, field: string, subject: string): void {
  if (!RESERVED_KEYS.has(key)) return
  throw new InvalidOptionsError(
    [
      {
        field,
        message: `"${key}" is not accepted as a metadata key (__proto__, constructor and prototype are refused: JavaScript takes them for an object's internals); use another key`,
      },
    ],
    { subject },
  )
}

/** Refuses an indexed metadata key or string value over `MAX_METADATA_TEXT_BYTES`. */
function assertIndexable(text: string, field: string, subject: string): void {
  // JSON takes at most 6 bytes per UTF-16 unit (an escape), plus quotes: only long text is counted.
  if (text.length * 6 + 2 <= MAX_METADATA_TEXT_BYTES) return
  const bytes = Buffer.byteLength(JSON.stringify(text), 'utf8')
  if (bytes <= MAX_METADATA_TEXT_BYTES) return
  throw new ValueTooLargeError(field, 'bytes', bytes, MAX_METADATA_TEXT_BYTES, {
    subject,
    advice:
      'metadata keys and the strings at its top level are indexed for filters; keep them short, or put long text in a nested object',
  })
}

/**
 * Checks metadata as `create` keeps it (a JSON copy, whose own keys include any `__proto__`):
 * refuses a reserved key at any depth, a NUL or lone surrogate in any key or string, and an
 * indexed key or string value over `MAX_METADATA_TEXT_BYTES`, naming the path (`metadata.a.b`).
 * `metadata` must be JSON already (nesting within `MAX_JSON_DEPTH`, no cycles).
 */
export function assertStorableMetadata(metadata: Record<string, unknown>, subject: string): void {
  for (const key of Object.keys(metadata)) {
    const field = `metadata.${pathSegment(key)}`
    checkKey(key, field, subject)
    assertIndexable(key, field, subject)
    const value = metadata[key]
    if (typeof value === 'string') {
      assertStorableText(value, field, subject)
      assertIndexable(value, field, subject)
    } else if (typeof value === 'object' && value !== null) checkNested(value, field, subject)
  }
}

function checkKey(key: string, field: string, subject: string): void {
  assertKeyAllowed(key, field, subject)
  assertStorableText(key, field, subject)
}

function checkNested(value: object, path: string, subject: string): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      checkValue(item, `${path}.${index}`, subject)
    })
    return
  }
  for (const key of Object.keys(value)) {
    const field = `${path}.${pathSegment(key)}`
    checkKey(key, field, subject)
    checkValue((value as Record<string, unknown>)[key], field, subject)
  }
}

function checkValue(value: unknown, field: string, subject: string): void {
  if (typeof value === 'string') assertStorableText(value, field, subject)
  else if (typeof value === 'object' && value !== null) checkNested(value, field, subject)
}

/**
 * Checks a metadata filter before it is parsed (parsing would drop an own `__proto__` key, and
 * the filter would match more than asked): refuses a reserved key, a NUL or lone surrogate in a
 * key or string value, and a key or string value over `MAX_METADATA_TEXT_BYTES` (no stored
 * metadata can hold it), naming `prefix.key`. Anything that is not a plain object is left to the
 * schema.
 */
export function assertStorableFilter(filter: unknown, subject: string, prefix = 'metadata'): void {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) return
  for (const key of Object.keys(filter)) {
    const field = `${prefix}.${pathSegment(key)}`
    checkKey(key, field, subject)
    assertIndexable(key, field, subject)
    const value = (filter as Record<string, unknown>)[key]
    if (typeof value === 'string') {
      assertStorableText(value, field, subject)
      assertIndexable(value, field, subject)
    }
  }
}
