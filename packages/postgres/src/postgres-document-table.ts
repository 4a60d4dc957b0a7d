import { InvalidOptionsError } from '@runner/core'
import { parseOrThrow } from '@runner/core/adapter'
import {
  type DocumentTable,
  type JsonValue,
  type ListDocumentsOptions,
  type StoredDocument,
  storableJsonText,
  validateDocumentKey,
} from '@runner/core/store'
import { z } from 'zod'
import type { StoreDatabase } from './store-database.js'

const listSchema = z.object({
  prefix: z.string({ error: 'must be a string' }).optional(),
  before: z.string({ error: 'must be a string' }).optional(),
  reverse: z.boolean({ error: 'must be true or false' }).optional(),
  limit: z
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(0, 'must be 0 or more')
    .optional(),
})

/**
 * The document table of `PostgresActivityStore` (its `documents`): `<schema>.documents`, keyed by
 * `(namespace, key)`. Keys are `COLLATE "C"`, so the key order is the binary (code point) order
 * of their UTF-8 bytes, whatever the database's collation. Values are kept as JSON text, exactly as
 * serialised.
 */
export class PostgresDocumentTable implements DocumentTable {
  readonly #database: StoreDatabase

  constructor(database: StoreDatabase) {
    this.#database = database
  }

  async put(namespace: string, key: string, value: JsonValue): Promise<void> {
    validateDocumentKey(namespace, 'namespace')
    validateDocumentKey(key, 'key')
    const text = this.#encode(value, 'value')
    const { names } = this.#database
    await this.#database.query(
      `INSERT INTO ${names.documents} (namespace, key, value) VALUES ($1::text, $2::text, $3::text)
       ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value`,
      [namespace, key, text],
      true,
    )
  }

  async putMany(namespace: string, documents: StoredDocument[]): Promise<void> {
    validateDocumentKey(namespace, 'namespace')
    if (!Array.isArray(documents)) {
      throw new InvalidOptionsError([{ field: 'documents', message: 'must be an array of { key, value }' }], {
        subject: 'document',
      })
    }
    // Later documents of one call replace earlier ones with the same key, as separate puts would.
    const byKey = new Map<string, string>()
    documents.forEach((document, index) => {
      const key = validateDocumentKey(document?.key, `documents.${index}.key`)
      byKey.delete(key)
      byKey.set(key, this.#encode(document.value, `documents.${index}.value`))
    })
    if (byKey.size === 0) return
    const { names } = this.#database
    // One statement: all the documents or none.
    await this.#database.query(
      `INSERT INTO ${names.documents} (namespace, key, value)
       SELECT $1::text, d.key, d.value FROM unnest($2::text[], $3::text[]) AS d (key, value)
       ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value`,
      [namespace, [...byKey.keys()], [...byKey.values()]],
      true,
    )
  }

  async get(namespace: string, key: string): Promise<JsonValue | undefined> {
    validateDocumentKey(namespace, 'namespace')
    validateDocumentKey(key, 'key')
    const { names } = this.#database
    const found = await this.#database.query<{ value: string }>(
      `SELECT value FROM ${names.documents} WHERE namespace = $1::text AND key = $2::text`,
      [namespace, key],
      true,
    )
    const row = found.rows[0]
    return row ? (JSON.parse(row.value) as JsonValue) : undefined
  }

  async list(namespace: string, options: ListDocumentsOptions = {}): Promise<StoredDocument[]> {
    const valid = parseOrThrow(listSchema, options, 'document list options')
    validateDocumentKey(namespace, 'namespace')
    const prefix = valid.prefix ?? ''
    if (prefix.includes('\u0000')) return []
    if (valid.limit === 0) return []
    // A bound with a NUL: the keys before "ab\0c" are the keys up to "ab" itself (keys have no NUL).
    const nul = valid.before?.indexOf('\u0000') ?? -1
    const before = nul === -1 ? valid.before : valid.before!.slice(0, nul)
    const { names } = this.#database
    const parameters: unknown[] = [namespace, prefix]
    let bound = ''
    if (before !== undefined) {
      parameters.push(before)
      bound = ` AND key ${nul === -1 ? '<' : '<='} $3::text`
    }
    parameters.push(valid.limit ?? null)
    // Fixed texts (one per shape), each walking the primary key in its direction.
    const found = await this.#database.query<{ key: string; value: string }>(
      `SELECT key, value FROM ${names.documents}
       WHERE namespace = $1::text AND key >= $2::text AND starts_with(key, $2::text)${bound}
       ORDER BY key ${valid.reverse ? 'DESC' : 'ASC'}
       LIMIT $${parameters.length}::integer`,
      parameters,
      true,
    )
    return found.rows.map((row) => ({ key: row.key, value: JSON.parse(row.value) as JsonValue }))
  }

  async deletePrefix(namespace: string, prefix: string): Promise<number> {
    if (typeof prefix !== 'string') {
      throw new InvalidOptionsError([{ field: 'prefix', message: "must be a string ('' for every key)" }], {
        subject: 'document',
      })
    }
    validateDocumentKey(namespace, 'namespace')
    if (prefix.includes('\u0000')) return 0
    const { names } = this.#database
    const deleted = await this.#database.query(
      `DELETE FROM ${names.documents}
       WHERE namespace = $1::text AND key >= $2::text AND starts_with(key, $2::text)`,
      [namespace, prefix],
      true,
    )
    return deleted.rowCount ?? 0
  }

  /**
   * JSON text of a document's value, each NUL and lone surrogate replaced by U+FFFD (the text
   * policy of every store), refused (naming `field`) when not JSON or over the limit.
   */
  #encode(value: unknown, field: string): string {
    let text: string
    try {
      text = storableJsonText(JSON.stringify(value) ?? 'null')
    } catch (error) {
      throw new InvalidOptionsError(
        [{ field, message: `is not JSON (${error instanceof Error ? error.message : String(error)})` }],
        { subject: 'document' },
      )
    }
    const limit = this.#database.maxRecordBytes
    // UTF-8 takes at most 3 bytes per UTF-16 unit: only a long text needs counting.
    if (text.length * 3 > limit) {
      const bytes = Buffer.byteLength(text, 'utf8')
      if (bytes > limit) {
        throw new InvalidOptionsError(
          [
            {
              field,
              message: `is ${bytes.toLocaleString('en-US')} bytes as JSON, over the store's maxRecordBytes of ${limit.toLocaleString('en-US')}; store less, or raise maxRecordBytes`,
            },
          ],
          { subject: 'document' },
        )
      }
    }
    return text
  }
}
