export { CACHE_HEADER, type CacheEntry } from './cache-entry.js'
export { defaultCacheKey, isDeterministic, type ResponseCacheRequest } from './cache-request.js'
export { type MemoryCacheStoreOptions, memoryCacheStore } from './memory-store.js'
export { type RedisCacheClient, type RedisCacheStoreOptions, redisCacheStore } from './redis-store.js'
export {
  createResponseCache,
  type FetchFunction,
  RESPONSE_CACHE_ERROR_WARNING,
  type ResponseCache,
  type ResponseCacheOptions,
  type ResponseCacheStats,
} from './response-cache.js'
export type { ResponseCacheStore } from './store.js'
export { VERSION } from './version.js'
