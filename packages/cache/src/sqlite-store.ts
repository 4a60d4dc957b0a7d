import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import { parseOrThrow } from '@runner/core/adapter'
import { z } from 'zod'
import type { ResponseCacheStore } from './store.js'

/** Options of {@link sqliteCacheStore}. */
export interface SqliteCacheStoreOptions {
  /** The database file (created with its directory when missing), or `:memory:`. */
  path: string
  /** How long a write waits for another process's lock before it fails, in milliseconds. Default 5,000. */
  busyTimeoutMs?: number
}

const optionsSchema = z
  .object({
    path: z.string().min(1),
    busyTimeoutMs: z.number().int().min(0).optional(),
  })
  .strict()

/** Expired rows are deleted once every this many writes (a read never returns one anyway). */
const purgeEvery = 100

/**
 * A store in one SQLite file (`node:sqlite`, WAL): it survives restarts and is shared by the
 * processes that open the same file. One table, `runner_response_cache` (key, value, expiry in
 * epoch milliseconds); an expired entry is never returned and is deleted by a later write.
 */
export function sqliteCacheStore(options: SqliteCacheStoreOptions): ResponseCacheStore {
  const valid = parseOrThrow(optionsSchema, options, 'SQLite cache store options')
  if (valid.path !== ':memory:') mkdirSync(dirname(valid.path), { recursive: true })
  let db: DatabaseSync | undefined = new DatabaseSync(valid.path)
  db.exec(`PRAGMA busy_timeout = ${valid.busyTimeoutMs ?? 5000}`)
  db.prepare('PRAGMA journal_mode = WAL').get()
  db.exec('PRAGMA synchronous = NORMAL')
  db.exec(
    'CREATE TABLE IF NOT EXISTS runner_response_cache (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID',
  )
  const statements = new Map<string, StatementSync>()
  const statement = (sql: string): StatementSync => {
    if (!db) throw new Error(`The SQLite cache store of ${valid.path} is closed.`)
    let prepared = statements.get(sql)
    if (!prepared) {
      prepared = db.prepare(sql)
      statements.set(sql, prepared)
    }
    return prepared
  }
  let writes = 0
  return {
    async get(key) {
      const row = statement('SELECT value FROM runner_response_cache WHERE key = ? AND expires_at > ?').get(
        key,
        Date.now(),
      ) as { value: string } | undefined
      return row?.value
    },
    async set(key, value, ttlMs) {
      const now = Date.now()
      statement(
        'INSERT INTO runner_response_cache (key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at',
      ).run(key, value, now + Math.ceil(ttlMs))
      if (++writes % purgeEvery === 0)
        statement('DELETE FROM runner_response_cache WHERE expires_at <= ?').run(now)
    },
    async delete(key) {
      statement('DELETE FROM runner_response_cache WHERE key = ?').run(key)
    },
    async clear() {
      statement('DELETE FROM runner_response_cache').run()
    },
    async close() {
      statements.clear()
      db?.close()
      db = undefined
    },
  }
}
