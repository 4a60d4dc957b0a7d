import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import * as cache from './index.js'
import * as sqlite from './sqlite.js'

describe('@runner/cache exports', () => {
  it('exports by name the cache, its stores and helpers, and VERSION from package.json', () => {
    expect(Object.keys(cache).sort()).toEqual([
      'CACHE_HEADER',
      'RESPONSE_CACHE_ERROR_WARNING',
      'VERSION',
      'createResponseCache',
      'defaultCacheKey',
      'isDeterministic',
      'memoryCacheStore',
      'redisCacheStore',
    ])
    const { version } = createRequire(import.meta.url)('../package.json') as { version: string }
    expect(cache.VERSION).toBe(version)
  })

  it('@runner/cache/sqlite exports the SQLite store only', () => {
    expect(Object.keys(sqlite)).toEqual(['sqliteCacheStore'])
  })
})
