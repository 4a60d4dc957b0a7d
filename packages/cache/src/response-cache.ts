import { InvalidOptionsError } from '@runner/core'
import { errorMessage, markModelCallCached, parseOrThrow } from '@runner/core/adapter'
import { z } from 'zod'
import {
  bodyHeaders,
  type CacheEntry,
  isCompleteAnswer,
  isEventStream,
  isStorable,
  lastEventOf,
  parseEntry,
  replayResponse,
  withoutSecrets,
} from './cache-entry.js'
import {
  defaultCacheKey,
  hashKey,
  isDeterministic,
  type ResponseCacheRequest,
  readCacheRequest,
} from './cache-request.js'
import { memoryCacheStore } from './memory-store.js'
import type { ResponseCacheStore } from './store.js'

/** A `fetch` as SDK clients take it. */
export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

/** Options of {@link createResponseCache}. */
export interface ResponseCacheOptions {
  /**
   * Where entries live: `memoryCacheStore()` (default), `sqliteCacheStore({ path })` from
   * `@runner/cache/sqlite`, `redisCacheStore({ client })`, or your own `ResponseCacheStore`.
   */
  store?: ResponseCacheStore
  /** How long an answer is replayed after it was stored, in milliseconds. Default one day (86,400,000). */
  ttlMs?: number
  /**
   * Cache requests that sample (`temperature` above 0 or unset, no `seed`) or ask for several
   * choices (`n` > 1) too. Default `false`: such requests go to the provider every time, since a
   * replay would freeze one of many possible answers. Turn it on for evals that want exactly that.
   */
  allowNonDeterministic?: boolean
  /**
   * What identifies a request: a JSON value hashed (SHA-256, with `namespace`) into the entry's
   * key. Default: method, path and query (not the host), the headers that change the answer
   * (`anthropic-version`, `anthropic-beta`, `openai-beta`) and the body (model, messages, tools,
   * settings) less `user`, `metadata`, `safety_identifier` and `prompt_cache_key`.
   */
  key?: (request: ResponseCacheRequest) => unknown
  /** Part of every key: change it to start over without clearing the store. Default `''`. */
  namespace?: string
  /** Answers larger than this (UTF-8 bytes) are passed through and not stored. Default 8 MiB. */
  maxEntryBytes?: number
  /**
   * Called when the store fails (the call then goes on uncached: a cache never fails a model
   * call). Default: a process warning with code `RUNNER_RESPONSE_CACHE_ERROR`.
   */
  onError?: (error: unknown) => void
}

/** What a response cache counted since it was made. */
export interface ResponseCacheStats {
  /** Requests answered from the store (no request sent). */
  hits: number
  /** Cacheable requests sent to the provider because the store had no answer. */
  misses: number
  /** Answers written to the store. */
  stored: number
  /** Requests passed through uncached: not a JSON `POST`, or not deterministic (see `allowNonDeterministic`). */
  skipped: number
}

/** A response cache: give `cache.fetch()` to your SDK client. */
export interface ResponseCache {
  /**
   * A `fetch` that answers from the cache and stores what `base` (default `globalThis.fetch`)
   * answers: `new OpenAI({ fetch: cache.fetch() })`. Inside a run, each call tells the run
   * whether its answer came from the cache (`markModelCallCached`).
   */
  fetch(base?: FetchFunction): FetchFunction
  /** What the cache counted (a copy). */
  readonly stats: ResponseCacheStats
  /** Removes every entry of the store. */
  clear(): Promise<void>
  /** Closes the store (a SQLite file; never a Redis client you gave). */
  close(): Promise<void>
}

const optionsSchema = z
  .object({
    store: z
      .custom<ResponseCacheStore>(
        (value) =>
          typeof value === 'object' &&
          value !== null &&
          ['get', 'set', 'delete', 'clear', 'close'].every(
            (name) => typeof (value as Record<string, unknown>)[name] === 'function',
          ),
        { message: 'must be a ResponseCacheStore (get, set, delete, clear, close)' },
      )
      .optional(),
    ttlMs: z.number().int().positive().optional(),
    allowNonDeterministic: z.boolean().optional(),
    key: z
      .custom<(request: ResponseCacheRequest) => unknown>((value) => typeof value === 'function', {
        message: 'must be a function',
      })
      .optional(),
    namespace: z.string().max(200).optional(),
    maxEntryBytes: z.number().int().positive().optional(),
    onError: z
      .custom<(error: unknown) => void>((value) => typeof value === 'function', {
        message: 'must be a function',
      })
      .optional(),
  })
  .strict()

/** The warning code of a store that failed. */
export const RESPONSE_CACHE_ERROR_WARNING = 'RUNNER_RESPONSE_CACHE_ERROR'

/**
 * An opt-in cache of model responses for development and evals, keyed by the normalised request
 * (model, messages, tools, settings) and shared by every SDK client given its `fetch`:
 *
 * ```ts
 * const cache = createResponseCache({ store: sqliteCacheStore({ path: '.cache/models.db' }) })
 * const client = new OpenAI({ fetch: cache.fetch() })
 * ```
 *
 * A hit sends no request and replays the stored answer (a stream as the same stream). Only whole
 * successful answers are stored, without secrets; requests that sample are passed through unless
 * `allowNonDeterministic`.
 */
export function createResponseCache(options: ResponseCacheOptions = {}): ResponseCache {
  const valid = parseOrThrow(optionsSchema, options, 'response cache options')
  const store = valid.store ?? memoryCacheStore()
  const ttlMs = valid.ttlMs ?? 24 * 60 * 60 * 1000
  const keyOf = valid.key ?? defaultCacheKey
  const namespace = valid.namespace ?? ''
  const maxEntryBytes = valid.maxEntryBytes ?? 8 * 1024 * 1024
  const onError =
    valid.onError ??
    ((error: unknown) =>
      process.emitWarning(
        `The response cache's store failed, so the call went uncached: ${errorMessage(error)}`,
        {
          code: RESPONSE_CACHE_ERROR_WARNING,
        },
      ))
  const stats: ResponseCacheStats = { hits: 0, misses: 0, stored: 0, skipped: 0 }

  const report = (error: unknown) => {
    try {
      onError(error)
    } catch {
      // A failing error handler must not fail the model call either.
    }
  }

  const lookup = async (key: string): Promise<CacheEntry | undefined> => {
    try {
      return parseEntry(await store.get(key), Date.now())
    } catch (error) {
      report(error)
      return undefined
    }
  }

  const save = async (key: string, entry: CacheEntry): Promise<void> => {
    try {
      await store.set(key, JSON.stringify(entry), ttlMs)
      stats.stored++
    } catch (error) {
      report(error)
    }
  }

  /** Passes the body through as it arrives and stores it once it has ended whole. */
  const storeWhenRead = (
    response: Response,
    key: string,
    path: string,
    credentials: readonly string[],
  ): Response => {
    const source = response.body
    if (source === null) return response
    const contentType = response.headers.get('content-type') ?? ''
    const lastEvent = isEventStream(contentType) ? lastEventOf(path) : undefined
    const decoder = new TextDecoder()
    let text = ''
    let size = 0
    let tooLarge = false
    let saved = false
    const saveIfWhole = async () => {
      saved = true
      if (tooLarge || !isCompleteAnswer(path, contentType, text)) return
      const now = Date.now()
      await save(key, {
        version: 1,
        status: response.status,
        statusText: response.statusText,
        contentType,
        body: withoutSecrets(text, credentials),
        storedAt: now,
        expiresAt: now + ttlMs,
      })
    }
    const keep = new TransformStream<Uint8Array, Uint8Array>({
      async transform(chunk, controller) {
        if (!saved && !tooLarge) {
          const part = decoder.decode(chunk, { stream: true })
          text += part
          size += chunk.byteLength
          if (size > maxEntryBytes) {
            tooLarge = true
            text = ''
          } else if (lastEvent?.test(text.slice(-(part.length + 256)))) {
            // The SDK may stop reading here: the answer is stored before it sees its last event.
            await saveIfWhole()
          }
        }
        controller.enqueue(chunk)
      },
      async flush() {
        if (saved) return
        text += decoder.decode()
        await saveIfWhole()
      },
    })
    const replica = new Response(source.pipeThrough(keep), {
      status: response.status,
      statusText: response.statusText,
      headers: bodyHeaders(response.headers),
    })
    Object.defineProperty(replica, 'url', { value: response.url })
    return replica
  }

  return {
    fetch(base?: FetchFunction): FetchFunction {
      if (base !== undefined && typeof base !== 'function') {
        throw new InvalidOptionsError([{ field: 'base', message: 'must be a fetch function' }], {
          subject: 'response cache fetch',
        })
      }
      return async (input, init) => {
        const send = base ?? globalThis.fetch
        const read = await readCacheRequest(input, init)
        if (!read || (!valid.allowNonDeterministic && !isDeterministic(read.request.body))) {
          stats.skipped++
          markModelCallCached(false)
          return send(input, init)
        }
        const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined)
        signal?.throwIfAborted()
        const key = hashKey(keyOf(read.request), namespace)
        const entry = await lookup(key)
        signal?.throwIfAborted()
        if (entry) {
          stats.hits++
          markModelCallCached(true)
          return replayResponse(entry, read.request.url, signal ?? undefined)
        }
        stats.misses++
        markModelCallCached(false)
        const response = await send(input, init)
        if (!isStorable(response)) return response
        return storeWhenRead(response, key, read.request.path, read.credentials)
      }
    },
    get stats() {
      return { ...stats }
    },
    clear: () => store.clear(),
    close: () => store.close(),
  }
}
