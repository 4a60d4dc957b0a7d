import { jsonOf } from './run-record.js'
import { validateDocumentKey } from './store-helpers.js'
import type { DocumentTable, JsonValue, ListDocumentsOptions, StoredDocument } from './types.js'

/** The document table of `MemoryActivityStore`: values kept as JSON text, keys sorted on read. */
export class MemoryDocumentTable implements DocumentTable {
  readonly #namespaces = new Map<string, Map<string, string>>()

  async put(namespace: string, key: string, value: JsonValue): Promise<void> {
    await this.putMany(namespace, [{ key, value }])
  }

  async putMany(namespace: string, documents: StoredDocument[]): Promise<void> {
    validateDocumentKey(namespace, 'namespace')
    const encoded = documents.map((document, index) => {
      validateDocumentKey(document.key, `documents.${index}.key`)
      return [document.key, JSON.stringify(jsonOf(document.value, `documents.${index}.value`))] as const
    })
    let table = this.#namespaces.get(namespace)
    if (!table) {
      table = new Map()
      this.#namespaces.set(namespace, table)
    }
    for (const [key, text] of encoded) table.set(key, text)
  }

  async get(namespace: string, key: string): Promise<JsonValue | undefined> {
    const text = this.#namespaces.get(namespace)?.get(key)
    return text === undefined ? undefined : (JSON.parse(text) as JsonValue)
  }

  async list(namespace: string, options: ListDocumentsOptions = {}): Promise<StoredDocument[]> {
    const table = this.#namespaces.get(namespace)
    if (!table) return []
    const { prefix = '', before, reverse = false, limit } = options
    const keys = [...table.keys()]
      .filter((key) => key.startsWith(prefix) && (before === undefined || key < before))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    if (reverse) keys.reverse()
    const chosen = limit === undefined ? keys : keys.slice(0, limit)
    return chosen.map((key) => ({ key, value: JSON.parse(table.get(key) as string) as JsonValue }))
  }

  async deletePrefix(namespace: string, prefix: string): Promise<number> {
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
