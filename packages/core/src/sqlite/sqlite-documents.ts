import type { SQLInputValue } from 'node:sqlite'
import {
  encodeDocuments,
  validateDocumentKey,
  validateDocumentPrefix,
  validateListDocumentsOptions,
} from '../activity/store-helpers.js'
import type { DocumentTable, JsonValue, ListDocumentsOptions, StoredDocument } from '../activity/types.js'
import type { SqliteAccess } from './sqlite-access.js'

/**
 * The document table of a `SqliteActivityStore`: `documents (namespace, key, value)`, keyed by
 * namespace and key. SQLite compares text with the BINARY collation (the bytes of UTF-8), which is
 * the binary key order the contract asks for, and a prefix is one range of the primary key.
 */
export class SqliteDocumentTable implements DocumentTable {
  readonly #db: SqliteAccess

  constructor(access: SqliteAccess) {
    this.#db = access
  }

  async put(namespace: string, key: string, value: JsonValue): Promise<void> {
    validateDocumentKey(key, 'key')
    await this.putMany(namespace, [{ key, value }])
  }

  async putMany(namespace: string, documents: StoredDocument[]): Promise<void> {
    // Every document is checked before the transaction: all are written, or none.
    const encoded = encodeDocuments(namespace, documents, this.#db.maxRecordBytes)
    if (encoded.length === 0) return
    await this.#db.write(() => {
      const upsert = this.#db.statement(
        `INSERT INTO documents (namespace, key, value) VALUES (?, ?, ?)
         ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value`,
      )
      for (const [key, text] of encoded) upsert.run(namespace, key, text)
    })
  }

  async get(namespace: string, key: string): Promise<JsonValue | undefined> {
    validateDocumentKey(namespace, 'namespace')
    validateDocumentKey(key, 'key')
    const row = this.#db.read(() =>
      this.#db.statement('SELECT value FROM documents WHERE namespace = ? AND key = ?').get(namespace, key),
    )
    return row ? (JSON.parse(row.value as string) as JsonValue) : undefined
  }

  async list(namespace: string, options: ListDocumentsOptions = {}): Promise<StoredDocument[]> {
    validateDocumentKey(namespace, 'namespace')
    const { prefix, before, reverse, limit } = validateListDocumentsOptions(options)
    const range = prefixRange(prefix)
    const where = ['namespace = ?', ...range.sql]
    const parameters: SQLInputValue[] = [namespace, ...range.parameters]
    if (before !== undefined) {
      where.push('key < ?')
      parameters.push(before)
    }
    let sql = `SELECT key, value FROM documents WHERE ${where.join(' AND ')} ORDER BY key ${reverse ? 'DESC' : 'ASC'}`
    if (limit !== undefined) {
      sql += ' LIMIT ?'
      parameters.push(limit)
    }
    return this.#db
      .read(() => this.#db.statement(sql).all(...parameters))
      .map((row) => ({ key: row.key as string, value: JSON.parse(row.value as string) as JsonValue }))
  }

  async deletePrefix(namespace: string, prefix: string): Promise<number> {
    validateDocumentKey(namespace, 'namespace')
    const range = prefixRange(validateDocumentPrefix(prefix))
    return this.#db.write(() =>
      Number(
        this.#db
          .statement(`DELETE FROM documents WHERE ${['namespace = ?', ...range.sql].join(' AND ')}`)
          .run(namespace, ...range.parameters).changes,
      ),
    )
  }
}

/**
 * The keys that start with `prefix`, as a range of the index: `key >= prefix AND key < bound`,
 * where `bound` is the prefix with its last code point raised by one (SQLite compares UTF-8 bytes,
 * which order like code points). Every key starts with `''`.
 */
function prefixRange(prefix: string): { sql: string[]; parameters: SQLInputValue[] } {
  if (prefix === '') return { sql: [], parameters: [] }
  const bound = upperBound(prefix)
  if (bound === undefined) return { sql: ['key >= ?'], parameters: [prefix] }
  return { sql: ['key >= ?', 'key < ?'], parameters: [prefix, bound] }
}

/** The smallest string above every string that starts with `prefix`, or `undefined` when none is. */
function upperBound(prefix: string): string | undefined {
  const points = Array.from(prefix, (character) => character.codePointAt(0) as number)
  while (points.length > 0) {
    const last = points.pop() as number
    if (last < 0x10ffff) return String.fromCodePoint(...points, last + 1 === 0xd800 ? 0xe000 : last + 1)
  }
  return undefined
}
