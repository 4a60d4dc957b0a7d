import { createHash, randomUUID } from 'node:crypto'
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
        typeof (value as { evalsha?: unknown }).evalsha === 'function',
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

/** One limit of one key: its requests or its tokens per window. */
interface Bucket {
  key: string
  kind: 'requests' | 'tokens'
  limit: number
}

/**
 * What a store answers to a call asking for its slots: taken (with the store's ticket for the
 * call, to reweigh it), or the wait before asking again.
 */
type Admission = { admitted: true; ticket: unknown } | { admitted: false; waitMs: number; bucket: number }

/**
 * Where the logs live: this process's memory, or Redis. Each bucket keeps a sliding-window log,
 * the time and weight of every call it admitted within the last window.
 */
interface LogStore {
  /**
   * Admits a call into every bucket at once when each one's weights in the trailing window, plus
   * `weights[i]`, fit its limit and no bucket's key is paused; else changes nothing and says how
   * long to wait (the longest of the buckets) and which bucket (the first that refused).
   */
  admit(buckets: readonly Bucket[], weights: readonly number[]): Promise<Admission>
  /**
   * Sets the weight of the call `ticket` was given for to `weight` in the token buckets among
   * `buckets` (the call's), where it is still in the window.
   */
  reweigh(buckets: readonly Bucket[], ticket: unknown, weight: number): Promise<void>
  /** Pauses `key` (all its buckets) for `ms` from now. */
  pause(key: string, ms: number): Promise<void>
}

/** The token slot a call took: its buckets and the store's ticket for it. */
class Slot implements TokenSlot {
  constructor(
    readonly estimate: number,
    readonly keys: ReadonlyArray<string>,
    readonly buckets: readonly Bucket[],
    readonly ticket: unknown,
  ) {}
}

/** The buckets a call takes, and which of them count tokens. */
interface CallBuckets {
  buckets: Bucket[]
  /** Index of the first token bucket, -1 if none. */
  firstTokens: number
  tokenKeys: string[]
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
  /** The buckets by call (provider and model), worked out once. */
  readonly #byCall = new Map<string, CallBuckets>()
  readonly #store: LogStore

  constructor(options: RateLimiterOptions) {
    this.windowMs = options.windowMs ?? 60_000
    this.#store =
      options.redis === undefined
        ? new MemoryLogStore(this.windowMs)
        : new RedisLogStore(options.redis as RedisEval, this.windowMs, options.keyPrefix ?? 'runner:rate')
    for (const [key, limit] of Object.entries(options.limits)) {
      const buckets: Bucket[] = []
      if (limit.requestsPerMinute !== undefined)
        buckets.push({ key, kind: 'requests', limit: limit.requestsPerMinute })
      if (limit.tokensPerMinute !== undefined)
        buckets.push({ key, kind: 'tokens', limit: limit.tokensPerMinute })
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
    const { buckets, firstTokens, tokenKeys } = this.#bucketsOf(call)
    if (buckets.length === 0) return undefined
    // A call heavier than a whole window's tokens counts as the whole window (else it never fits).
    const weights = buckets.map((bucket) =>
      bucket.kind === 'requests' ? 1 : Math.max(1, Math.min(bucket.limit, Math.ceil(call.estimatedTokens))),
    )
    let told = false
    for (;;) {
      signal.throwIfAborted()
      const admission = await this.#store.admit(buckets, weights)
      if (admission.admitted)
        return firstTokens < 0
          ? undefined
          : new Slot(weights[firstTokens] as number, tokenKeys, buckets, admission.ticket)
      if (!told) {
        told = true
        await onWait({
          key: (buckets[admission.bucket] as Bucket).key,
          limit: this.#label(buckets[admission.bucket] as Bucket),
        })
      }
      await abortableSleep(admission.waitMs, signal)
    }
  }

  #bucketsOf(call: { model?: string | undefined; provider?: string | undefined }): CallBuckets {
    const name = `${call.provider ?? ''}\u0000${call.model ?? ''}`
    let found = this.#byCall.get(name)
    if (!found) {
      const buckets = this.#keysOf(call).flatMap((key) => this.#buckets.get(key) ?? [])
      found = {
        buckets,
        firstTokens: buckets.findIndex((bucket) => bucket.kind === 'tokens'),
        tokenKeys: buckets.filter((bucket) => bucket.kind === 'tokens').map((bucket) => bucket.key),
      }
      // Bounded: a call names a provider and a model, and few of those exist.
      if (this.#byCall.size < 1000) this.#byCall.set(name, found)
    }
    return found
  }

  async correct(slot: TokenSlot, usedTokens: number): Promise<void> {
    if (!(slot instanceof Slot)) return
    const weight = Math.max(0, Math.round(usedTokens))
    await this.#store.reweigh(slot.buckets, slot.ticket, weight).catch(() => undefined)
  }

  async block(
    call: { model?: string | undefined; provider?: string | undefined },
    ms: number,
  ): Promise<string | undefined> {
    const key = this.#keysOf(call)[0]
    if (key === undefined) return undefined
    await this.#store.pause(key, Math.max(1, Math.ceil(ms)))
    return key
  }
}

/**
 * The sliding-window log of one bucket in memory: the admission times and weights of its calls in
 * the window, oldest first, in a ring of two typed arrays (no object a call), and their sum. Each
 * call gets a sequence number, its ticket to reweigh it.
 */
class MemoryLog {
  #at = new Float64Array(16)
  #weight = new Float64Array(16)
  /** Ring index of the oldest call. */
  #start = 0
  count = 0
  /** Sequence number of the oldest call. */
  #first = 0
  sum = 0

  #index(position: number): number {
    return (this.#start + position) % this.#at.length
  }

  /** Drops the calls admitted at or before `since` (they left the window). */
  trim(since: number): void {
    while (this.count > 0 && (this.#at[this.#start] as number) <= since) {
      this.sum -= this.#weight[this.#start] as number
      this.#start = (this.#start + 1) % this.#at.length
      this.#first++
      this.count--
    }
  }

  /** Adds a call; returns its sequence number. */
  push(at: number, weight: number): number {
    if (this.count === this.#at.length) {
      const at2 = new Float64Array(this.count * 2)
      const weight2 = new Float64Array(this.count * 2)
      for (let position = 0; position < this.count; position++) {
        at2[position] = this.#at[this.#index(position)] as number
        weight2[position] = this.#weight[this.#index(position)] as number
      }
      this.#at = at2
      this.#weight = weight2
      this.#start = 0
    }
    const index = this.#index(this.count)
    this.#at[index] = at
    this.#weight[index] = weight
    this.count++
    this.sum += weight
    return this.#first + this.count - 1
  }

  /** Sets the weight of call `sequence`, if it is still in the window. */
  reweigh(sequence: number, weight: number): void {
    const position = sequence - this.#first
    if (position < 0 || position >= this.count) return
    const index = this.#index(position)
    this.sum += weight - (this.#weight[index] as number)
    this.#weight[index] = weight
  }

  /** Ms from `now` until `weight` more fits `limit` (0: it fits now). */
  waitFor(weight: number, limit: number, now: number, windowMs: number): number {
    let excess = this.sum + weight - limit
    if (excess <= 0) return 0
    for (let position = 0; position < this.count; position++) {
      const index = this.#index(position)
      excess -= this.#weight[index] as number
      if (excess <= 0) return Math.max(1, Math.ceil((this.#at[index] as number) + windowMs - now))
    }
    return windowMs
  }
}

/**
 * The logs in this process's memory, on its monotonic clock (`performance.now()`): exact, and
 * atomic since a call is admitted in one synchronous step. A call's ticket: its sequence number in
 * each of its buckets' logs.
 */
class MemoryLogStore implements LogStore {
  readonly #logs = new Map<Bucket, MemoryLog>()
  readonly #pausedUntil = new Map<string, number>()

  constructor(readonly windowMs: number) {}

  #log(bucket: Bucket, now: number): MemoryLog {
    let log = this.#logs.get(bucket)
    if (!log) {
      log = new MemoryLog()
      this.#logs.set(bucket, log)
    }
    log.trim(now - this.windowMs)
    return log
  }

  async admit(buckets: readonly Bucket[], weights: readonly number[]): Promise<Admission> {
    const now = performance.now()
    let waitMs = 0
    let refused = -1
    for (const [index, bucket] of buckets.entries()) {
      const log = this.#log(bucket, now)
      const paused = (this.#pausedUntil.get(bucket.key) ?? 0) - now
      const wait = Math.max(
        paused > 0 ? Math.ceil(paused) : 0,
        log.waitFor(weights[index] as number, bucket.limit, now, this.windowMs),
      )
      if (wait > 0 && refused < 0) refused = index
      waitMs = Math.max(waitMs, wait)
    }
    if (refused >= 0) return { admitted: false, waitMs, bucket: refused }
    const ticket = buckets.map((bucket, index) =>
      (this.#logs.get(bucket) as MemoryLog).push(now, weights[index] as number),
    )
    return { admitted: true, ticket }
  }

  async reweigh(buckets: readonly Bucket[], ticket: unknown, weight: number): Promise<void> {
    const sequences = ticket as number[]
    for (const [index, bucket] of buckets.entries())
      if (bucket.kind === 'tokens') this.#logs.get(bucket)?.reweigh(sequences[index] as number, weight)
  }

  async pause(key: string, ms: number): Promise<void> {
    const until = performance.now() + ms
    if ((this.#pausedUntil.get(key) ?? 0) < until) this.#pausedUntil.set(key, until)
  }
}

/** The part of an ioredis client the Redis logs use. */
interface RedisEval {
  evalsha(sha: string, numberOfKeys: number, ...args: Array<string | number>): Promise<unknown>
  eval(script: string, numberOfKeys: number, ...args: Array<string | number>): Promise<unknown>
}

/** Redis's clock in ms (the script's `now`): one clock for every process sharing the logs. */
const redisNow = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`

/**
 * KEYS: per bucket, its log (sorted set: call id by admission time), its weights (hash: call id
 * to weight, and \`sum\`), its key's pause (string: the time it ends). ARGV: the window, the call
 * id, then per bucket its limit and the call's weight. Returns {0} (admitted) or {wait ms, bucket
 * index from 1}.
 */
const admitScript = `${redisNow}
local window = tonumber(ARGV[1])
local id = ARGV[2]
local count = #KEYS / 3
local wait = 0
local refused = 0
for i = 1, count do
  local log, weights, paused = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  local limit, weight = tonumber(ARGV[2 * i + 1]), tonumber(ARGV[2 * i + 2])
  local gone = redis.call('ZRANGEBYSCORE', log, '-inf', now - window)
  if #gone > 0 then
    local dropped = 0
    -- In slices: unpack() takes a few thousand values at most.
    for first = 1, #gone, 1000 do
      local slice = {unpack(gone, first, math.min(first + 999, #gone))}
      for _, value in ipairs(redis.call('HMGET', weights, unpack(slice))) do
        dropped = dropped + (tonumber(value) or 0)
      end
      redis.call('HDEL', weights, unpack(slice))
    end
    redis.call('ZREMRANGEBYSCORE', log, '-inf', now - window)
    redis.call('HINCRBY', weights, 'sum', -dropped)
  end
  local bucketWait = 0
  local pausedUntil = tonumber(redis.call('GET', paused) or '0')
  if pausedUntil > now then bucketWait = pausedUntil - now end
  local excess = (tonumber(redis.call('HGET', weights, 'sum') or '0')) + weight - limit
  if excess > 0 then
    local fits = window
    local entries = redis.call('ZRANGE', log, 0, -1, 'WITHSCORES')
    for j = 1, #entries, 2 do
      excess = excess - (tonumber(redis.call('HGET', weights, entries[j]) or '0'))
      if excess <= 0 then
        fits = math.max(1, tonumber(entries[j + 1]) + window - now)
        break
      end
    end
    bucketWait = math.max(bucketWait, fits)
  end
  if bucketWait > 0 and refused == 0 then refused = i end
  wait = math.max(wait, bucketWait)
end
if refused > 0 then return {wait, refused} end
for i = 1, count do
  local log, weights = KEYS[3 * i - 2], KEYS[3 * i - 1]
  local weight = tonumber(ARGV[2 * i + 2])
  redis.call('ZADD', log, now, id)
  redis.call('HSET', weights, id, weight)
  redis.call('HINCRBY', weights, 'sum', weight)
  redis.call('PEXPIRE', log, window)
  redis.call('PEXPIRE', weights, window)
end
return {0}
`

/** KEYS: per bucket, its log and its weights. ARGV: the call id, its new weight. */
const reweighScript = `
local id, weight = ARGV[1], tonumber(ARGV[2])
for i = 1, #KEYS / 2 do
  local weights = KEYS[2 * i]
  local old = redis.call('HGET', weights, id)
  if old then
    redis.call('HSET', weights, id, weight)
    redis.call('HINCRBY', weights, 'sum', weight - tonumber(old))
  end
end
return 0
`

/** KEYS: the key's pause. ARGV: ms. Pauses until now + ms, unless already paused longer. */
const pauseScript = `${redisNow}
local ms = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < now + ms then redis.call('SET', KEYS[1], now + ms, 'PX', ms) end
return 0
`

/**
 * A Lua script: sent whole the first time a client runs it (Redis caches it), then by its SHA1
 * (sent whole again if Redis lost it). One command a call either way, so that calls made in order
 * on one connection (a correction, then the next call) reach Redis in that order.
 */
class Script {
  readonly #sha: string
  readonly #sent = new WeakSet<RedisEval>()
  constructor(readonly source: string) {
    this.#sha = createHash('sha1').update(source).digest('hex')
  }

  async run(
    redis: RedisEval,
    keys: readonly string[],
    args: ReadonlyArray<string | number>,
  ): Promise<unknown> {
    if (!this.#sent.has(redis)) {
      const reply = await redis.eval(this.source, keys.length, ...keys, ...args)
      this.#sent.add(redis)
      return reply
    }
    try {
      return await redis.evalsha(this.#sha, keys.length, ...keys, ...args)
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
      return redis.eval(this.source, keys.length, ...keys, ...args)
    }
  }
}

const scripts = {
  admit: new Script(admitScript),
  reweigh: new Script(reweighScript),
  pause: new Script(pauseScript),
}

/**
 * The logs in Redis: each call is one Lua script, atomic across every process sharing the keys,
 * on Redis's own clock (`TIME`), so that the processes' clocks need not agree.
 */
class RedisLogStore implements LogStore {
  constructor(
    readonly redis: RedisEval,
    readonly windowMs: number,
    readonly prefix: string,
  ) {}

  #keys(bucket: Bucket): [log: string, weights: string, paused: string] {
    const base = `${this.prefix}:${bucket.kind}:${bucket.key}`
    return [`${base}:log`, `${base}:weights`, `${this.prefix}:paused:${bucket.key}`]
  }

  async admit(buckets: readonly Bucket[], weights: readonly number[]): Promise<Admission> {
    const id = randomUUID()
    const reply = (await scripts.admit.run(
      this.redis,
      buckets.flatMap((bucket) => this.#keys(bucket)),
      [this.windowMs, id, ...buckets.flatMap((bucket, index) => [bucket.limit, weights[index] as number])],
    )) as number[]
    const [waitMs = 0, bucket = 1] = reply
    return waitMs === 0 ? { admitted: true, ticket: id } : { admitted: false, waitMs, bucket: bucket - 1 }
  }

  async reweigh(buckets: readonly Bucket[], ticket: unknown, weight: number): Promise<void> {
    const tokens = buckets.filter((bucket) => bucket.kind === 'tokens')
    await scripts.reweigh.run(
      this.redis,
      tokens.flatMap((bucket) => this.#keys(bucket).slice(0, 2)),
      [ticket as string, weight],
    )
  }

  async pause(key: string, ms: number): Promise<void> {
    await scripts.pause.run(this.redis, [`${this.prefix}:paused:${key}`], [ms])
  }
}
