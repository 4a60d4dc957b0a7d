import { parseOrThrow } from '@runner/core/adapter'
import { z } from 'zod'
import type { ResponseCacheStore } from './store.js'

/** What the Redis store uses of a client: an `ioredis` client (`new Redis(url)`) has it all. */
export interface RedisCacheClient {
  get(key: string): Promise<string | null>
  set(key: string, value: string, mode: 'PX', ttlMs: number): Promise<unknown>
  del(...keys: string[]): Promise<number>
  scan(
    cursor: string,
    matchToken: 'MATCH',
    pattern: string,
    countToken: 'COUNT',
    count: number,
  ): Promise<[cursor: string, keys: string[]]>
}

/** Options of {@link redisCacheStore}. */
export interface RedisCacheStoreOptions {
  /** Your Redis client (`ioredis`). The store never closes it: you do, when you are done. */
  client: RedisCacheClient
  /** Put before every key, so that entries of several caches or apps never meet. Default `runner:cache:`. */
  prefix?: string
}

const optionsSchema = z
  .object({
    client: z.custom<RedisCacheClient>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        ['get', 'set', 'del', 'scan'].every(
          (name) => typeof (value as Record<string, unknown>)[name] === 'function',
        ),
      { message: 'must be a Redis client (an ioredis client: get, set, del and scan)' },
    ),
    prefix: z.string().min(1).max(200).optional(),
  })
  .strict()

/**
 * A store in Redis, shared by every process that uses the same server and prefix: each entry is
 * one string key (`<prefix><sha-256>`) that Redis itself expires (`SET ... PX ttl`). `clear`
 * removes the keys under the prefix (`SCAN` + `DEL`, in batches).
 */
export function redisCacheStore(options: RedisCacheStoreOptions): ResponseCacheStore {
  const valid = parseOrThrow(optionsSchema, options, 'Redis cache store options')
  const client = valid.client
  const prefix = valid.prefix ?? 'runner:cache:'
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`
  return {
    async get(key) {
      return (await client.get(prefix + key)) ?? undefined
    },
    async set(key, value, ttlMs) {
      await client.set(prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs)))
    },
    async delete(key) {
      await client.del(prefix + key)
    },
    async clear() {
      let cursor = '0'
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
        if (keys.length > 0) await client.del(...keys)
        cursor = next
      } while (cursor !== '0')
    },
    async close() {},
  }
}
