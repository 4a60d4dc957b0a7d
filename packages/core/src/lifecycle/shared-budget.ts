import { z } from 'zod'
import { parseOrThrow } from '../util/zod-issues.js'

/** Options of `createSharedBudget`. */
export interface SharedBudgetOptions {
  /** Shown in messages and errors (`tenant-daily`), and part of the Redis keys. */
  name: string
  /** Tokens (`usage.totalTokens`) one key may use per window. */
  maxTokens?: number
  /** US dollars (`usage.costUsd`) one key may spend per window. */
  maxCostUsd?: number
  /**
   * The window the spending counts over: `'day'` (a calendar day in UTC), `'hour'`, or a number of
   * ms (fixed windows counted from the Unix epoch: `15 * 60_000` starts at :00, :15, :30, :45).
   */
  window: 'day' | 'hour' | number
  /**
   * An ioredis client: the spending lives in Redis, shared by every process and machine that uses
   * the same `name` (and `keyPrefix`). Default: in this process's memory.
   */
  redis?: unknown
  /** Prefix of the Redis keys. Default `runner:budget`. */
  keyPrefix?: string
}

/** What one key has spent in the current window. */
export interface SharedBudgetSpent {
  tokens: number
  costUsd: number
  /** When the current window ends and the spending starts again from zero (epoch ms). */
  resetsAt: number
}

/** A limit of a shared budget that one key has reached in the current window. */
export interface SharedBudgetReached {
  budget: 'maxTokens' | 'maxCostUsd'
  limit: number
  spent: number
  /** When the window ends (epoch ms). */
  resetsAt: number
}

/**
 * Spending limits shared by many runs (per tenant, per key, per day or hour), across processes
 * through Redis. Made by `createSharedBudget`; given to runs as `budget.shared` and to pool tasks
 * as the task option `budget`.
 */
export interface SharedBudget {
  readonly name: string
  readonly maxTokens: number | undefined
  readonly maxCostUsd: number | undefined
  /** `"per day"`, `"per hour"` or `"per 15 min"`: for messages. */
  readonly per: string
  /** What `key` has spent in the current window. */
  spent(key: string): Promise<SharedBudgetSpent>
  /** The limit `key` has reached in the current window (tokens first, then cost), if any. */
  reached(key: string): Promise<SharedBudgetReached | undefined>
  /** Adds a model call's usage to `key`'s spending in the current window; resolves with the new totals. */
  charge(key: string, usage: { tokens: number; costUsd: number }): Promise<SharedBudgetSpent>
}

/** One use of a shared budget by a run: the budget and the key the run spends under. */
export interface SharedBudgetUse {
  budget: SharedBudget
  /** The key (a tenant, a user, an API key's name): each key has its own spending. */
  key: string
}

/** A value made by `createSharedBudget` (checked by shape: any copy of core makes one). */
export const sharedBudgetSchema = z.custom<SharedBudget>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { reached?: unknown }).reached === 'function' &&
    typeof (value as { charge?: unknown }).charge === 'function',
  { error: 'must be a budget made by createSharedBudget' },
)

const DAY = 86_400_000
const HOUR = 3_600_000

const optionsSchema = z
  .strictObject({
    name: z
      .string({ error: 'must be a non-empty string of at most 100 characters' })
      .min(1, 'must be a non-empty string of at most 100 characters')
      .max(100, 'must be a non-empty string of at most 100 characters'),
    maxTokens: z
      .number({ error: 'must be a positive integer number of tokens' })
      .int('must be a positive integer number of tokens')
      .positive('must be a positive integer number of tokens')
      .optional(),
    maxCostUsd: z
      .number({ error: 'must be a positive number of US dollars' })
      .positive('must be a positive number of US dollars')
      .refine(Number.isFinite, 'must be a positive number of US dollars')
      .optional(),
    window: z.union(
      [
        z.literal('day'),
        z.literal('hour'),
        z
          .number()
          .int()
          .min(1000)
          .refine((ms) => ms % 1000 === 0),
      ],
      { error: "must be 'day', 'hour' or a whole number of seconds in ms (at least 1000)" },
    ),
    redis: z
      .custom(
        (value) =>
          typeof value === 'object' &&
          value !== null &&
          typeof (value as { multi?: unknown }).multi === 'function' &&
          typeof (value as { hmget?: unknown }).hmget === 'function',
        'must be an ioredis client',
      )
      .optional(),
    keyPrefix: z.string().min(1, 'must be a non-empty string').optional(),
  })
  .refine((options) => options.maxTokens !== undefined || options.maxCostUsd !== undefined, {
    message: 'set maxTokens or maxCostUsd',
    path: ['maxTokens'],
  })

/**
 * Makes a budget shared by runs and pool tasks: spending counted per key (a tenant...) per window,
 * in memory or in Redis. Throws `InvalidOptionsError` naming the bad field.
 *
 * ```ts
 * const daily = createSharedBudget({ name: 'tenant-daily', maxCostUsd: 5, window: 'day', redis })
 * await runner.run(agent, prompt, { budget: { shared: { budget: daily, key: 'acme' } } })
 * ```
 */
export function createSharedBudget(options: SharedBudgetOptions): SharedBudget {
  parseOrThrow(optionsSchema, options, 'shared budget options')
  return options.redis === undefined ? new MemoryBudget(options) : new RedisBudget(options)
}

/** The start and end of the window `now` falls in (epoch ms). */
function windowOf(window: SharedBudgetOptions['window'], now: number): { start: number; end: number } {
  const ms = window === 'day' ? DAY : window === 'hour' ? HOUR : window
  const start = Math.floor(now / ms) * ms
  return { start, end: start + ms }
}

function perLabel(window: SharedBudgetOptions['window']): string {
  if (window === 'day' || window === 'hour') return `per ${window}`
  const seconds = window / 1000
  if (seconds % 3600 === 0) return `per ${seconds / 3600} h`
  if (seconds % 60 === 0) return `per ${seconds / 60} min`
  return `per ${seconds} s`
}

abstract class BaseBudget implements SharedBudget {
  readonly name: string
  readonly maxTokens: number | undefined
  readonly maxCostUsd: number | undefined
  readonly per: string
  protected readonly window: SharedBudgetOptions['window']

  constructor(options: SharedBudgetOptions) {
    this.name = options.name
    this.maxTokens = options.maxTokens
    this.maxCostUsd = options.maxCostUsd
    this.window = options.window
    this.per = perLabel(options.window)
  }

  abstract spent(key: string): Promise<SharedBudgetSpent>
  abstract charge(key: string, usage: { tokens: number; costUsd: number }): Promise<SharedBudgetSpent>

  async reached(key: string): Promise<SharedBudgetReached | undefined> {
    return sharedBudgetReached(this, await this.spent(key))
  }
}

/** The limit of `budget` that `spent` reaches (tokens first, then cost), if any. */
export function sharedBudgetReached(
  budget: Pick<SharedBudget, 'maxTokens' | 'maxCostUsd'>,
  spent: SharedBudgetSpent,
): SharedBudgetReached | undefined {
  if (budget.maxTokens !== undefined && spent.tokens >= budget.maxTokens)
    return { budget: 'maxTokens', limit: budget.maxTokens, spent: spent.tokens, resetsAt: spent.resetsAt }
  if (budget.maxCostUsd !== undefined && spent.costUsd >= budget.maxCostUsd)
    return { budget: 'maxCostUsd', limit: budget.maxCostUsd, spent: spent.costUsd, resetsAt: spent.resetsAt }
  return undefined
}

class MemoryBudget extends BaseBudget {
  readonly #spending = new Map<string, { start: number; tokens: number; costUsd: number }>()

  async spent(key: string): Promise<SharedBudgetSpent> {
    const { start, end } = windowOf(this.window, Date.now())
    const entry = this.#spending.get(key)
    if (!entry || entry.start !== start) return { tokens: 0, costUsd: 0, resetsAt: end }
    return { tokens: entry.tokens, costUsd: entry.costUsd, resetsAt: end }
  }

  async charge(key: string, usage: { tokens: number; costUsd: number }): Promise<SharedBudgetSpent> {
    const { start, end } = windowOf(this.window, Date.now())
    let entry = this.#spending.get(key)
    if (!entry || entry.start !== start) {
      // Keys of ended windows are dropped as they are met again, and all at once when many pile up.
      if (this.#spending.size >= 10_000) this.#forgetEnded(start)
      entry = { start, tokens: 0, costUsd: 0 }
      this.#spending.set(key, entry)
    }
    entry.tokens += usage.tokens
    entry.costUsd += usage.costUsd
    return { tokens: entry.tokens, costUsd: entry.costUsd, resetsAt: end }
  }

  #forgetEnded(start: number): void {
    for (const [key, entry] of this.#spending) if (entry.start !== start) this.#spending.delete(key)
  }
}

/** The part of ioredis this budget uses. */
interface RedisLike {
  hmget(key: string, ...fields: string[]): Promise<Array<string | null>>
  multi(): {
    hincrby(key: string, field: string, by: number): unknown
    hincrbyfloat(key: string, field: string, by: number): unknown
    pexpireat(key: string, at: number): unknown
    exec(): Promise<Array<[Error | null, unknown]> | null>
  }
}

class RedisBudget extends BaseBudget {
  readonly #redis: RedisLike
  readonly #prefix: string

  constructor(options: SharedBudgetOptions) {
    super(options)
    this.#redis = options.redis as RedisLike
    this.#prefix = `${options.keyPrefix ?? 'runner:budget'}:${options.name}`
  }

  #keyOf(key: string, start: number): string {
    return `${this.#prefix}:${start}:${key}`
  }

  async spent(key: string): Promise<SharedBudgetSpent> {
    const { start, end } = windowOf(this.window, Date.now())
    const [tokens, costUsd] = await this.#redis.hmget(this.#keyOf(key, start), 'tokens', 'cost')
    return { tokens: Number(tokens ?? 0), costUsd: Number(costUsd ?? 0), resetsAt: end }
  }

  async charge(key: string, usage: { tokens: number; costUsd: number }): Promise<SharedBudgetSpent> {
    const { start, end } = windowOf(this.window, Date.now())
    const redisKey = this.#keyOf(key, start)
    const multi = this.#redis.multi()
    // Atomic increments: concurrent charges from many processes add up, and each gets the totals.
    multi.hincrby(redisKey, 'tokens', Math.max(0, Math.round(usage.tokens)))
    multi.hincrbyfloat(redisKey, 'cost', Math.max(0, usage.costUsd))
    // Kept a little past its window, for whoever reads it late; then Redis drops it.
    multi.pexpireat(redisKey, end + 60_000)
    const results = await multi.exec()
    if (!results) throw new Error(`Redis did not run the charge of shared budget "${this.name}"`)
    const failed = results.find(([error]) => error)
    if (failed?.[0]) throw failed[0]
    return { tokens: Number(results[0]?.[1] ?? 0), costUsd: Number(results[1]?.[1] ?? 0), resetsAt: end }
  }
}
