import { DEFAULT_MAX_RECORD_BYTES } from './run-record.js'
import {
  encodeDocuments,
  validateDocumentKey,
  validateDocumentPrefix,
  validateListDocumentsOptions,
} from './store-helpers.js'
import type { DocumentTable, JsonValue, ListDocumentsOptions, StoredDocument } from './types.js'

/** One namespace: values by key, and the keys in binary order (a list reads a range, not every key). */
interface Namespace {
  values: Map<string, string>
  keys: string[]
}

/** The document table of `MemoryActivityStore`: values kept as JSON text, keys kept sorted. */
export class MemoryDocumentTable implements DocumentTable {
  readonly #namespaces = new Map<string, Namespace>()
  readonly #maxRecordBytes: number

  /** `maxRecordBytes`: the largest value accepted, as UTF-8 JSON. */
  constructor(maxRecordBytes = DEFAULT_MAX_RECORD_BYTES) {
    this.#maxRecordBytes = maxRecordBytes
  }

  async put(namespace: string, key: string, value: JsonValue): Promise<void> {
    validateDocumentKey(key, 'key')
    await this.putMany(namespace, [{ key, value }])
  }

  async putMany(namespace: string, documents: StoredDocument[]): Promise<void> {
    // Every document is checked before any is written: all or none.
    const encoded = encodeDocuments(namespace, documents, this.#maxRecordBytes)
    let table = this.#namespaces.get(namespace)
    if (!table) {
      table = { values: new Map(), keys: [] }
      this.#namespaces.set(namespace, table)
    }
    for (const [key, text] of encoded) {
      if (!table.values.has(key)) table.keys.splice(lowerBound(table.keys, key), 0, key)
      table.values.set(key, text)
    }
  }

  async get(namespace: string, key: string): Promise<JsonValue | undefined> {
    validateDocumentKey(namespace, 'namespace')
    validateDocumentKey(key, 'key')
    const text = this.#namespaces.get(namespace)?.values.get(key)
    return text === undefined ? undefined : (JSON.parse(text) as JsonValue)
  }

  async list(namespace: string, options: ListDocumentsOptions = {}): Promise<StoredDocument[]> {
    validateDocumentKey(namespace, 'namespace')
    const { prefix, before, reverse, limit } = validateListDocumentsOptions(options)
    const table = this.#namespaces.get(namespace)
    if (!table) return []
    let [first, end] = prefixRange(table.keys, prefix)
    if (before !== undefined) end = Math.max(first, Math.min(end, lowerBound(table.keys, before)))
    const count = limit === undefined ? end - first : Math.min(limit, end - first)
    const chosen = reverse
      ? table.keys.slice(end - count, end).reverse()
      : table.keys.slice(first, first + count)
    return chosen.map((key) => ({ key, value: JSON.parse(table.values.get(key) as string) as JsonValue }))
  }

  async deletePrefix(namespace: string, prefix: string): Promise<number> {
    validateDocumentKey(namespace, 'namespace')
    validateDocumentPrefix(prefix)
    const table = this.#namespaces.get(namespace)
    if (!table) return 0
    const [first, end] = prefixRange(table.keys, prefix)
    for (const key of table.keys.splice(first, end - first)) table.values.delete(key)
    return end - first
  }
}

/** The keys starting with `prefix` are one run of the sorted list: its bounds, `[first, end)`. */
function prefixRange(keys: readonly string[], prefix: string): [number, number] {
  const first = lowerBound(keys, prefix)
  let end = first
  while (end < keys.length && keys[end]!.startsWith(prefix)) end++
  return [first, end]
}

/** The index of the first key not before `key` in binary order. */
function lowerBound(keys: readonly string[], key: string): number {
  let low = 0
  let high = keys.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (compareKeys(keys[middle]!, key) < 0) low = middle + 1
    else high = middle
  }
  return low
}

/**
 * Binary key order: by Unicode code point, which is the byte order of UTF-8 (what SQLite and
 * PostgreSQL's "C" collation compare). JavaScript's `<` compares UTF-16 code units, which puts
 * characters above U+FFFF before U+E000..U+FFFF; this does not.
 */
function compareKeys(a: string, b: string): number {
  if (a === b) return 0
  const length = Math.min(a.length, b.length)
  for (let index = 0; index < length; index++) {
    const left = a.codePointAt(index) as number
    const right = b.codePointAt(index) as number
    if (left !== right) return left - right
    if (left > 0xffff) index++
  }
  return a.length - b.length
}
