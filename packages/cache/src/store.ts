/**
 * Where a response cache keeps its entries: strings under keys, each with a time to live. The
 * memory, SQLite and Redis stores of this package implement it; so can your own (a key-value
 * service, a file per key). Keys are hex SHA-256 digests; values are the cache's JSON entries.
 */
export interface ResponseCacheStore {
  /** The value under `key`, or `undefined` when there is none or it has expired. */
  get(key: string): Promise<string | undefined>
  /** Keeps `value` under `key` for `ttlMs` milliseconds, replacing what was there. */
  set(key: string, value: string, ttlMs: number): Promise<void>
  /** Removes the value under `key` (nothing when there is none). */
  delete(key: string): Promise<void>
  /** Removes every value of this store (a Redis store: those under its prefix only). */
  clear(): Promise<void>
  /** Releases what the store opened itself (a SQLite file); never a client it was given. */
  close(): Promise<void>
}
