import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible'
import { z } from 'zod'
import { abortableSleep } from '../util/abort.js'
import { parseOrThrow } from '../util/zod-issues.js'

/** The limits of one key (`provider/model` or `provider`), per window (a minute by default). */
export interface RateLimit {
  /** Model calls per window. */
  requestsPerMinute?: number
  /** Tokens (input + output) per window; each call is estimated before it is sent, corrected after. */
  tokensPerMinute?: number
}

/** Options of `createRateLimiter`. */
export interface RateLimiterOptions {
  /**
   * Limits by key: `provider/model` (`openai/gpt-4o-mini`) limits the calls of that model,
   * `provider` (`openai`) the calls of all its models. A call takes a slot from every key that
   * matches it.
   */
  limits: Record<string, RateLimit>
  /**
   * An ioredis client: the counts live in Redis, shared by every process and machine that uses
   * the same keys (and `keyPrefix`). Default: in this process's memory.
   */
  redis?: unknown
  /** Length of the window the limits count over, in ms (whole seconds). Default 60000 (a minute). */
  windowMs?: number
  /** Prefix of the Redis keys. Default `runner:rate`. */
  keyPrefix?: string
}

/** What a call waiting for its slot is told (once per wait): the key and limit it waits for. */
export type RateLimitWait = { key: string; limit: string }

/** The token slot a call took, to correct with its real usage. */
export interface TokenSlot {
  readonly estimate: number
  readonly keys: ReadonlyArray<string>
}

/**
 * Rate limits of model calls, shared by every runner given it (`rateLimiter` on `RunnerOptions`).
 * Made by `createRateLimiter`.
 */
export interface RateLimiter {
  /** The window the limits count over, in ms. */
  readonly windowMs: number
  /**
   * Waits until a call of `model` from `provider` has a slot in every key that matches it (and
   * `estimatedTokens` in those with `tokensPerMinute`); rejects only when `signal` aborts. Returns
   * the token slot taken (to `correct`), if any.
   */
  acquire(
    call: { model?: string | undefined; provider?: string | undefined; estimatedTokens: number },
    signal: AbortSignal,
    onWait: (wait: RateLimitWait) => unknown,
  ): Promise<TokenSlot | undefined>
  /** Corrects a call's token slot with the tokens it really used. */
  correct(slot: TokenSlot, usedTokens: number): Promise<void>
  /**
   * Pauses the most specific key that matches a call (`provider/model` when it has limits, else
   * `provider`) for `ms`, for every run sharing the limiter: a 429's `Retry-After`. Returns the key.
   */
  block(
    call: { model?: string | undefined; provider?: string | undefined },
    ms: number,
  ): Promise<string | undefined>
}

const perWindow = (what: string) =>
  z
    .number({ error: `must be a positive integer number of ${what}` })
    .int(`must be a positive integer number of ${what}`)
    .positive(`must be a positive integer number of ${what}`)
    .optional()

const optionsSchema = z.strictObject({
  limits: z.record(
    z.string().min(1, 'must be provider/model or provider'),
    z
      .strictObject(
        { requestsPerMinute: perWindow('requests'), tokensPerMinute: perWindow('tokens') },
        { error: 'must be { requestsPerMinute?, tokensPerMinute? }' },
      )
      .refine(
        (limit) => limit.requestsPerMinute !== undefined || limit.tokensPerMinute !== undefined,
        'must set requestsPerMinute or tokensPerMinute',
      ),
    { error: 'must be an object of { requestsPerMinute?, tokensPerMinute? } by provider/model or provider' },
  ),
  redis: z
    .custom(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        typeof (value as { eval?: unknown }).eval === 'function' &&
        typeof (value as { multi?: unknown }).multi === 'function',
      'must be an ioredis client',
    )
    .optional(),
  windowMs: z
    .number({ error: 'must be a positive whole number of seconds in ms (1000, 60000...)' })
    .int('must be a positive whole number of seconds in ms (1000, 60000...)')
    .min(1000, 'must be a positive whole number of seconds in ms (1000, 60000...)')
    .refine((ms) => ms % 1000 === 0, 'must be a positive whole number of seconds in ms (1000, 60000...)')
    .optional(),
  keyPrefix: z.string().min(1, 'must be a non-empty string').optional(),
})

interface Bucket {
  key: string
  kind: 'requests' | 'tokens'
  limit: number
  limiter: RateLimiterAbstract
}

/**
 * Makes the rate limiter that runners share (`rateLimiter` on `RunnerOptions`): counts in memory,
 * or in Redis when `redis` is given. Throws `InvalidOptionsError` naming the bad field.
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  parseOrThrow(optionsSchema, options, 'rate limiter options')
  return new SharedRateLimiter(options)
}

class SharedRateLimiter implements RateLimiter {
  readonly windowMs: number
  readonly #buckets = new Map<string, Bucket[]>()

  constructor(options: RateLimiterOptions) {
    this.windowMs = options.windowMs ?? 60_000
    const duration = this.windowMs / 1000
    const prefix = options.keyPrefix ?? 'runner:rate'
    const make = (kind: 'requests' | 'tokens', points: number): RateLimiterAbstract => {
      const keyPrefix = `${prefix}:${kind}`
      return options.redis === undefined
        ? new RateLimiterMemory({ points, duration, keyPrefix })
        : new RateLimiterRedis({ storeClient: options.redis, points, duration, keyPrefix })
    }
    for (const [key, limit] of Object.entries(options.limits)) {
      const buckets: Bucket[] = []
      if (limit.requestsPerMinute !== undefined)
        buckets.push({
          key,
          kind: 'requests',
          limit: limit.requestsPerMinute,
          limiter: make('requests', limit.requestsPerMinute),
        })
      if (limit.tokensPerMinute !== undefined)
        buckets.push({
          key,
          kind: 'tokens',
          limit: limit.tokensPerMinute,
          limiter: make('tokens', limit.tokensPerMinute),
        })
      this.#buckets.set(key, buckets)
    }
  }

  /** The keys a call matches, most specific first. */
  #keysOf(call: { model?: string | undefined; provider?: string | undefined }): string[] {
    if (call.provider === undefined) return []
    const keys: string[] = []
    if (call.model !== undefined && this.#buckets.has(`${call.provider}/${call.model}`))
      keys.push(`${call.provider}/${call.model}`)
    if (this.#buckets.has(call.provider)) keys.push(call.provider)
    return keys
  }

  #label(bucket: Bucket): string {
    const minute = this.windowMs === 60_000
    if (bucket.kind === 'requests')
      return minute ? `${bucket.limit} RPM` : `${bucket.limit} requests per ${this.windowMs / 1000} s`
    return minute ? `${bucket.limit} TPM` : `${bucket.limit} tokens per ${this.windowMs / 1000} s`
  }

  async acquire(
    call: { model?: string | undefined; provider?: string | undefined; estimatedTokens: number },
    signal: AbortSignal,
    onWait: (wait: RateLimitWait) => unknown,
  ): Promise<TokenSlot | undefined> {
    const keys = this.#keysOf(call)
    if (keys.length === 0) return undefined
    const buckets = keys.flatMap((key) => this.#buckets.get(key) ?? [])
    const pointsOf = (bucket: Bucket) =>
      bucket.kind === 'requests' ? 1 : Math.max(1, Math.min(bucket.limit, Math.ceil(call.estimatedTokens)))
    let told = false
    for (;;) {
      signal.throwIfAborted()
      const taken: Bucket[] = []
      let full: { bucket: Bucket; ms: number } | undefined
      for (const bucket of buckets) {
        try {
          await bucket.limiter.consume(bucket.key, pointsOf(bucket))
          taken.push(bucket)
        } catch (error) {
          if (!(error instanceof RateLimiterRes)) {
            await Promise.allSettled(taken.map((done) => done.limiter.reward(done.key, pointsOf(done))))
            throw error
          }
          // Counted although refused: given back with the others, so that waiting costs nothing.
          taken.push(bucket)
          full = { bucket, ms: error.msBeforeNext }
          break
        }
      }
      if (!full) {
        const tokens = buckets.filter((bucket) => bucket.kind === 'tokens')
        return tokens.length === 0
          ? undefined
          : { estimate: pointsOf(tokens[0] as Bucket), keys: tokens.map((bucket) => bucket.key) }
      }
      await Promise.allSettled(taken.map((done) => done.limiter.reward(done.key, pointsOf(done))))
      if (!told) {
        told = true
        await onWait({ key: full.bucket.key, limit: this.#label(full.bucket) })
      }
      await abortableSleep(Math.max(full.ms, 10), signal)
    }
  }

  async correct(slot: TokenSlot, usedTokens: number): Promise<void> {
    const difference = Math.round(usedTokens) - slot.estimate
    if (difference === 0) return
    await Promise.allSettled(
      slot.keys.flatMap((key) =>
        (this.#buckets.get(key) ?? [])
          .filter((bucket) => bucket.kind === 'tokens')
          .map((bucket) =>
            difference > 0
              ? bucket.limiter.penalty(bucket.key, difference)
              : bucket.limiter.reward(bucket.key, -difference),
          ),
      ),
    )
  }

  async block(
    call: { model?: string | undefined; provider?: string | undefined },
    ms: number,
  ): Promise<string | undefined> {
    const key = this.#keysOf(call)[0]
    if (key === undefined) return undefined
    const seconds = Math.max(1, Math.ceil(ms / 1000))
    await Promise.allSettled(
      (this.#buckets.get(key) ?? []).map((bucket) => bucket.limiter.block(key, seconds)),
    )
    return key
  }
}
