import { DEFAULT_MAX_RECORD_BYTES } from './run-record.js'
import {
  encodeDocuments,
  validateDocumentKey,
  validateDocumentPrefix,
  validateListDocumentsOptions,
} from './store-helpers.js'
import type { DocumentTable, JsonValue, ListDocumentsOptions, StoredDocument } from './types.js'

/** The document table of `MemoryActivityStore`: values kept as JSON text, keys sorted on read. */
export class MemoryDocumentTable implements DocumentTable {
  readonly #namespaces = new Map<string, Map<string, string>>()
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
      table = new Map()
      this.#namespaces.set(namespace, table)
    }
    for (const [key, text] of encoded) table.set(key, text)
  }

  async get(namespace: string, key: string): Promise<JsonValue | undefined> {
    validateDocumentKey(namespace, 'namespace')
    validateDocumentKey(key, 'key')
    const text = this.#namespaces.get(namespace)?.get(key)
    return text === undefined ? undefined : (JSON.parse(text) as JsonValue)
  }

  async list(namespace: string, options: ListDocumentsOptions = {}): Promise<StoredDocument[]> {
    validateDocumentKey(namespace, 'namespace')
    const { prefix, before, reverse, limit } = validateListDocumentsOptions(options)
    const table = this.#namespaces.get(namespace)
    if (!table) return []
    const keys = [...table.keys()]
      .filter((key) => key.startsWith(prefix) && (before === undefined || compareKeys(key, before) < 0))
      .sort(compareKeys)
    if (reverse) keys.reverse()
    const chosen = limit === undefined ? keys : keys.slice(0, limit)
    return chosen.map((key) => ({ key, value: JSON.parse(table.get(key) as string) as JsonValue }))
  }

  async deletePrefix(namespace: string, prefix: string): Promise<number> {
    validateDocumentKey(namespace, 'namespace')
    validateDocumentPrefix(prefix)
    const table = this.#namespaces.get(namespace)
    if (!table) return 0
    let count = 0
    for (const key of [...table.keys()]) {
      if (key.startsWith(prefix)) {
        table.delete(key)
        count++
      }
    }
    return count
  }
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
