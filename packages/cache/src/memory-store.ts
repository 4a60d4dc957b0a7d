import { parseOrThrow } from '@runner/core/adapter'
import { LRUCache } from 'lru-cache'
import { z } from 'zod'
import type { ResponseCacheStore } from './store.js'

/** Options of {@link memoryCacheStore}. */
export interface MemoryCacheStoreOptions {
  /** At most this many entries; the least recently used goes first. Default 1,000. */
  maxEntries?: number
  /**
   * At most this many bytes of entries (UTF-8) in all; the least recently used go first, and an
   * entry larger than the whole budget is not kept. Default 64 MiB.
   */
  maxBytes?: number
}

const optionsSchema = z
  .object({
    maxEntries: z.number().int().positive().optional(),
    maxBytes: z.number().int().positive().optional(),
  })
  .strict()

/**
 * A store in this process's memory: a least-recently-used cache (`lru-cache`) bounded by entries
 * and bytes, each entry dropped when its time to live is over. Gone when the process ends; the
 * default store of `createResponseCache`.
 */
export function memoryCacheStore(options: MemoryCacheStoreOptions = {}): ResponseCacheStore {
  const valid = parseOrThrow(optionsSchema, options, 'memory cache store options')
  const entries = new LRUCache<string, string>({
    max: valid.maxEntries ?? 1000,
    maxSize: valid.maxBytes ?? 64 * 1024 * 1024,
    sizeCalculation: (value) => Math.max(1, Buffer.byteLength(value)),
  })
  return {
    async get(key) {
      return entries.get(key)
    },
    async set(key, value, ttlMs) {
      entries.set(key, value, { ttl: ttlMs })
    },
    async delete(key) {
      entries.delete(key)
    },
    async clear() {
      entries.clear()
    },
    async close() {
      entries.clear()
    },
  }
}
