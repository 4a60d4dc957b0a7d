import type { PoolJob } from '@runner/core/engine'
import { Job, type Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import { jobIdOf } from './job-data.js'
import { toBullMQPriority } from './priority.js'

/**
 * Fair concurrency per key across every worker of a queue (`TaskOptions.concurrency`), built on
 * BullMQ's open-source queue with a few Redis structures of our own and Lua scripts that run
 * atomically on Redis:
 *
 * - A job of a task with `concurrency` is added to BullMQ *parked*: delayed by `parkDelayMs` (a
 *   year), so no worker takes it. It is recorded in `parked:<group>` (a sorted set: pool priority,
 *   then arrival).
 * - `pump` releases parked jobs: among the groups whose running count (`lease:<group>`, a sorted
 *   set of job ids by lease expiry) is below their limit, the highest priority, then the group
 *   that released least recently (round-robin); at most a dispatch window of jobs released and
 *   not yet started (`released`). Those groups are kept in `eligible`, a sorted set by head
 *   priority then last turn, so a release is O(log n). Each released job takes a lease in its
 *   group at once, and is promoted by the process that pumped (BullMQ's `promote`: delayed ->
 *   prioritized, in one script of BullMQ's).
 * - A worker that starts a job of a group *claims* it: it runs if it holds its lease (released,
 *   or redelivered after its worker was lost and its lease still live), or if its group is below
 *   its limit with nothing parked; otherwise it is parked again (BullMQ `moveToDelayed` +
 *   `DelayedError`), keeping its place. So the limit holds at the start of every job, whatever
 *   happened to the pump.
 * - Leases expire: a worker renews those of its running jobs on every tick, so the lease of a
 *   killed worker's job lapses after `leaseMs`, and a released job that never started (its
 *   pumping process died before promoting it) goes back to its group.
 * - Every worker that ran a job with a key pumps on a tick, and registers its concurrency in
 *   `workers`: the dispatch window is the sum over the live workers (at least the pumping pool's
 *   `concurrency`).
 *
 * A group is a task and a key, `["task","key"]` as the local engine forms them: keys are per task.
 */

/** How far in the future a parked job is delayed in BullMQ: a year (BullMQ's delayed scores run out in 2039). */
export const parkDelayMs = 365 * 24 * 60 * 60 * 1000

/** How often a worker that ran a job with a key renews its leases and pumps, at most. */
export const maxTickIntervalMs = 1000

/** A group that has parked jobs and is at its limit: why they wait. */
export interface HeldGroup {
  task: string
  key: string
  /** Jobs of the group running (or released to start) anywhere. */
  running: number
  /** The group's `concurrency.limit`. */
  limit: number
}

/** A job held back at submit or at start because its key is at its limit. */
export interface HeldJob extends HeldGroup {
  job: PoolJob
}

/** What a worker's claim decided for a job starting in it. */
export type Claim = (
  | {
      run: true
      /** Times the job was parked again after BullMQ started it (not deliveries of its own). */
      parks: number
    }
  | { run: false; running: number; limit: number }
) & {
  /**
   * Promotes the jobs the claim's pump released. Call it once the claimed job is settled (moved
   * back to BullMQ's delayed set when it may not run): it may be among them. Never rejects.
   */
  promote: () => Promise<void>
}

/** How long the end of a job waits for a claim of this process to go with, at most. */
const endBatchMs = 5

/** Numbers without a limit: the pool's `concurrency` is the only one. */
const noLimit = 2_147_483_647

/** The group of a job with a key. */
export function groupOf(job: Pick<PoolJob, 'task' | 'concurrencyKey'>): string {
  return JSON.stringify([job.task, job.concurrencyKey])
}

/** Whether a job takes the fair path (its task has `concurrency`). */
export function isFair(job: PoolJob): job is PoolJob & { concurrencyKey: string } {
  return job.concurrencyKey !== undefined
}

/** Settings of a `FairDispatch`. */
export interface FairDispatchOptions {
  /** The engine's own connection. */
  redis: Redis
  /** The engine's queue (to promote released jobs). */
  queue: Queue
  prefix: string
  queueName: string
  /** How long a lease lasts without renewal (the workers' `lockDurationMs`). */
  leaseMs: number
  /** The dispatch window when no worker is registered: this pool's `concurrency`. */
  fallbackWindow: number
  onError: (error: Error) => void
}

/** Names of the scripts as defined on the connection. */
const commands = {
  park: 'runnerFairPark',
  claim: 'runnerFairClaim',
  end: 'runnerFairEnd',
  tick: 'runnerFairTick',
} as const

type Command = (...args: (string | number)[]) => Promise<unknown>

/** The fair dispatch of one queue: parks, pumps, claims and ends jobs with a key. */
export class FairDispatch {
  readonly #options: FairDispatchOptions
  readonly #keys: string[]
  readonly #base: string
  /** Listeners told when jobs are held back because their key is at its limit. */
  readonly #heldListeners = new Set<(held: HeldJob) => void>()
  /** Ends waiting for a call: (job id, group) pairs, and how their callers learn it is done. */
  #ends: string[] = []
  #endsBatch: { settle: PromiseWithResolvers<void>; timer: NodeJS.Timeout } | undefined

  constructor(options: FairDispatchOptions) {
    this.#options = options
    this.#base = `${options.prefix}:${options.queueName}:runner:fair:`
    const base = this.#base
    this.#keys = [
      `${base}eligible`,
      `${base}released`,
      `${base}jobs`,
      `${base}limits`,
      `${base}workers`,
      `${base}turn`,
      `${base}seq`,
      options.queue.keys.delayed as string,
      `${base}parks`,
      `${base}turns`,
      `${base}leases`,
    ]
    const { redis } = options
    const numberOfKeys = this.#keys.length
    for (const [name, lua] of [
      [commands.park, parkScript],
      [commands.claim, claimScript],
      [commands.end, endScript],
      [commands.tick, tickScript],
    ] as const) {
      if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua })
    }
  }

  /** Calls `listener` for every job held back because its key is at its limit; returns an unsubscribe. */
  onHeld(listener: (held: HeldJob) => void): () => void {
    this.#heldListeners.add(listener)
    return () => this.#heldListeners.delete(listener)
  }

  /**
   * Records jobs just added to BullMQ parked, then pumps. Jobs with a `delayMs` are not parked
   * here: BullMQ holds them for their delay, and they are claimed when they start.
   */
  async park(jobs: readonly PoolJob[]): Promise<void> {
    const args: (string | number)[] = []
    for (const job of jobs) {
      args.push(jobIdOf(job), groupOf(job), job.concurrencyLimit ?? noLimit, toBullMQPriority(job.priority))
    }
    const [released, held] = (await this.#call(commands.park, args)) as [string[], (string | number)[]]
    await this.#promote(released)
    const byId = new Map(jobs.map((job) => [jobIdOf(job), job]))
    for (let index = 0; index < held.length; index += 3) {
      const job = byId.get(String(held[index]))
      if (job) this.#held(job, Number(held[index + 1]), Number(held[index + 2]))
    }
  }

  /**
   * Whether a job that a worker just took may run now; otherwise it was parked again (the caller
   * moves it back to BullMQ's delayed set). Pumps either way.
   */
  async claim(job: PoolJob): Promise<Claim> {
    const limit = job.concurrencyLimit ?? noLimit
    const ended = this.#takeEnds()
    let result: [number, number, number, number, string[]]
    try {
      result = (await this.#call(commands.claim, [
        jobIdOf(job),
        groupOf(job),
        limit,
        toBullMQPriority(job.priority),
        ...(ended?.ends ?? []),
      ])) as [number, number, number, number, string[]]
    } catch (error) {
      ended?.settle.reject(error)
      throw error
    }
    ended?.settle.resolve()
    const [admitted, running, groupLimit, parks, released] = result
    const promote = () =>
      this.#promote(released).catch((error: unknown) => this.#options.onError(asError(error)))
    if (admitted === 1) return { run: true, parks: Number(parks), promote }
    this.#held(job, Number(running), Number(groupLimit))
    return { run: false, running: Number(running), limit: Number(groupLimit), promote }
  }

  /** A job with a key ended (or was removed, or never started): frees its lease and place, then pumps. */
  end(job: Pick<PoolJob, 'agentId' | 'resumed' | 'task' | 'concurrencyKey'>): Promise<void> {
    // Ends go with the next claim of this process (a busy worker starts its next job right
    // after), or in one call of their own after `endBatchMs`: one round trip fewer per job.
    this.#ends.push(jobIdOf(job), groupOf(job))
    if (!this.#endsBatch) {
      const flushed = Promise.withResolvers<void>()
      flushed.promise.catch(() => {})
      const timer = setTimeout(() => {
        const batch = this.#takeEnds()
        if (!batch) return
        this.#call(commands.end, ['end', '', ...batch.ends])
          .then((released) => this.#promote(released as string[]))
          .then(batch.settle.resolve, batch.settle.reject)
      }, endBatchMs)
      this.#endsBatch = { settle: flushed, timer }
    }
    return this.#endsBatch.settle.promise
  }

  /** The ends waiting for a call, if any, taken (their timer stopped). */
  #takeEnds(): { ends: string[]; settle: PromiseWithResolvers<void> } | undefined {
    const batch = this.#endsBatch
    if (!batch) return undefined
    clearTimeout(batch.timer)
    const ends = this.#ends
    this.#ends = []
    this.#endsBatch = undefined
    return { ends, settle: batch.settle }
  }

  /**
   * A worker's tick: registers it (`member` = `<concurrency>|<worker id>`, live for `leaseMs`),
   * renews the leases of the jobs it runs, and pumps (this is what recovers after a crash).
   */
  async tick(member: string, running: readonly PoolJob[]): Promise<void> {
    const args: (string | number)[] = [member]
    for (const job of running) args.push(jobIdOf(job), groupOf(job))
    const released = (await this.#call(commands.tick, args)) as string[]
    await this.#promote(released)
  }

  /** Removes a worker's registration (it closes). */
  async unregister(member: string): Promise<void> {
    await this.#options.redis.zrem(this.#keys[4] as string, member)
  }

  /** Whether the queue has parked or released jobs (a worker starting up then ticks at once). */
  async active(): Promise<boolean> {
    return (await this.#options.redis.exists(this.#keys[2] as string)) > 0
  }

  #call(name: string, args: (string | number)[]): Promise<unknown> {
    const { redis, leaseMs, fallbackWindow } = this.#options
    const command = (redis as unknown as Record<string, Command>)[name] as Command
    return command.call(redis, ...this.#keys, this.#base, Date.now(), leaseMs, fallbackWindow, ...args)
  }

  /**
   * Promotes released jobs (in release order, pipelined on the queue's connection). A job that is
   * no longer delayed gives its release back: forgotten if it is gone (canceled), otherwise (it
   * is queued or running already) it is claimed when it starts.
   */
  async #promote(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return
    const { queue, onError } = this.#options
    await Promise.all(
      ids.map(async (id) => {
        try {
          await new Job(queue, '', {}, {}, id).promote()
        } catch {
          await this.#call(commands.end, ['unrelease', queue.toKey(id), id, '']).catch((error: unknown) =>
            onError(asError(error)),
          )
        }
      }),
    )
  }

  #held(job: PoolJob, running: number, limit: number): void {
    if (running < limit) return
    const held: HeldJob = { job, task: job.task, key: job.concurrencyKey as string, running, limit }
    for (const listener of this.#heldListeners) {
      try {
        listener(held)
      } catch (error) {
        this.#options.onError(asError(error))
      }
    }
  }
}

/**
 * Shared by every script. KEYS: 1 eligible (groups with parked jobs below their limit, by head
 * priority tier then last turn), 2 released (job id by expiry), 3 jobs (job id -> "score group"),
 * 4 limits (group -> limit), 5 workers (`<concurrency>|<id>` by expiry), 6 turn counter, 7
 * arrival counter, 8 BullMQ's delayed set, 9 parks (job id -> times parked again at start), 10
 * turns (group -> its last turn), 11 leases (every lease, `<group>\t<job id>`, by expiry; a
 * group is JSON, so it holds no raw tab).
 * ARGV: 1 key base, 2 now (ms), 3 lease ms, 4 fallback window; then the script's own.
 *
 * Every step is O(log n) but the expiry sweeps (O(expired)) and the window (O(workers)): a
 * release picks the first group of `eligible`, which is kept up to date on every change of a
 * group (a park, a release, a claim, an end, a lease that lapsed).
 */
const prelude = `
local base = ARGV[1]
local now = tonumber(ARGV[2])
local leaseMs = tonumber(ARGV[3])
local fallbackWindow = tonumber(ARGV[4])
local tierSize = 2147483648

local function parkedKey(g) return base .. 'parked:' .. g end
local function leaseKey(g) return base .. 'lease:' .. g end
local function fmt(n) return string.format('%.0f', n) end

local function jobInfo(id)
  local v = redis.call('HGET', KEYS[3], id)
  if not v then return nil, nil end
  local sp = string.find(v, ' ', 1, true)
  return string.sub(v, 1, sp - 1), string.sub(v, sp + 1)
end

local function limitOf(g)
  return tonumber(redis.call('HGET', KEYS[4], g)) or ${noLimit}
end

local function newScore(tier)
  local seq = redis.call('INCR', KEYS[7]) % tierSize
  return fmt(tonumber(tier) * tierSize + seq)
end

-- Whether g may release its head now: it goes to (or leaves) the eligible index. A group with
-- nothing parked and no lease is forgotten.
local function refresh(g)
  local head = redis.call('ZRANGE', parkedKey(g), 0, 0, 'WITHSCORES')
  local running = redis.call('ZCARD', leaseKey(g))
  if #head > 0 and running < limitOf(g) then
    local tier = math.floor(tonumber(head[2]) / tierSize)
    local turn = tonumber(redis.call('HGET', KEYS[10], g)) or 0
    redis.call('ZADD', KEYS[1], fmt(tier * tierSize + turn % tierSize), g)
  else
    redis.call('ZREM', KEYS[1], g)
    if #head == 0 and running == 0 then
      redis.call('HDEL', KEYS[10], g)
      redis.call('HDEL', KEYS[4], g)
    end
  end
end

local function addLease(id, g)
  redis.call('ZADD', leaseKey(g), now + leaseMs, id)
  redis.call('ZADD', KEYS[11], now + leaseMs, g .. '\t' .. id)
end

local function dropLease(id, g)
  redis.call('ZREM', KEYS[11], g .. '\t' .. id)
  return redis.call('ZREM', leaseKey(g), id)
end

local function park(id, score, g)
  redis.call('HSET', KEYS[3], id, score .. ' ' .. g)
  redis.call('ZADD', parkedKey(g), score, id)
end

local function forget(id, g)
  local score, known = jobInfo(id)
  if g == '' then g = known end
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[9], id)
  if g then
    dropLease(id, g)
    redis.call('ZREM', parkedKey(g), id)
    refresh(g)
  end
end

local function window()
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
  local sum = 0
  for _, member in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do
    local bar = string.find(member, '|', 1, true)
    if bar then sum = sum + (tonumber(string.sub(member, 1, bar - 1)) or 0) end
  end
  if sum < fallbackWindow then sum = fallbackWindow end
  return sum
end

-- Run first by every script.
local function sweep()
  -- Leases that lapsed (their worker was lost, or their job never started): the slot comes back.
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[11], '-inf', now)) do
    redis.call('ZREM', KEYS[11], member)
    local tab = string.find(member, '\t', 1, true)
    local g, id = string.sub(member, 1, tab - 1), string.sub(member, tab + 1)
    redis.call('ZREM', leaseKey(g), id)
    refresh(g)
  end
  -- Released and not started within a lease: back to its group if it was never promoted.
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
    redis.call('ZREM', KEYS[2], id)
    local score, g = jobInfo(id)
    if g and redis.call('ZSCORE', KEYS[8], id) then
      park(id, score, g)
      refresh(g)
    end
  end
end

local function pump()
  local released = {}
  local inflight = redis.call('ZCARD', KEYS[2])
  local w = window()
  while inflight < w do
    local first = redis.call('ZRANGE', KEYS[1], 0, 0)
    local g = first[1]
    if not g then break end
    local id = redis.call('ZPOPMIN', parkedKey(g))[1]
    if id then
      addLease(id, g)
      redis.call('ZADD', KEYS[2], now + leaseMs, id)
      redis.call('HSET', KEYS[10], g, redis.call('INCR', KEYS[6]))
      released[#released + 1] = id
      inflight = inflight + 1
    end
    refresh(g)
  end
  return released
end
`

/** ARGV 5..: (job id, group, limit, BullMQ priority) per job. Returns { released, held (id, running, limit)... }. */
const parkScript = `${prelude}
sweep()
local parked = {}
local groups = {}
for i = 5, #ARGV, 4 do
  local id, g = ARGV[i], ARGV[i + 1]
  if not groups[g] then
    redis.call('HSET', KEYS[4], g, ARGV[i + 2])
    groups[g] = true
  end
  park(id, newScore(ARGV[i + 3]), g)
  parked[#parked + 1] = { id, g }
end
for g in pairs(groups) do refresh(g) end
local released = pump()
local held = {}
for _, entry in ipairs(parked) do
  local id, g = entry[1], entry[2]
  if redis.call('ZSCORE', parkedKey(g), id) then
    local run, lim = redis.call('ZCARD', leaseKey(g)), limitOf(g)
    if run >= lim then
      held[#held + 1] = id
      held[#held + 1] = run
      held[#held + 1] = lim
    end
  end
end
return { released, held }
`

/**
 * ARGV 5: job id, 6: group, 7: limit, 8: BullMQ priority; 9..: (job id, group) of jobs of this
 * process that ended since its last call (forgotten first). Returns { admitted (1/0), running,
 * limit, parks, released }.
 */
const claimScript = `${prelude}
sweep()
for i = 9, #ARGV, 2 do forget(ARGV[i], ARGV[i + 1]) end
local id, g = ARGV[5], ARGV[6]
local lim = tonumber(ARGV[7])
redis.call('HSET', KEYS[4], g, lim)
redis.call('ZREM', KEYS[2], id)
local score = jobInfo(id)
redis.call('ZREM', parkedKey(g), id)
local run = redis.call('ZCARD', leaseKey(g))
local admitted = 0
if redis.call('ZSCORE', leaseKey(g), id) or (run < lim and redis.call('ZCARD', parkedKey(g)) == 0) then
  addLease(id, g)
  if not score then redis.call('HSET', KEYS[3], id, newScore(ARGV[8]) .. ' ' .. g) end
  admitted = 1
  run = redis.call('ZCARD', leaseKey(g))
else
  park(id, score or newScore(ARGV[8]), g)
  redis.call('HINCRBY', KEYS[9], id, 1)
end
refresh(g)
local parks = tonumber(redis.call('HGET', KEYS[9], id)) or 0
local released = pump()
return { admitted, run, lim, parks, released }
`

/**
 * ARGV 5: 'end' (the jobs ended or were removed: forgotten) or 'unrelease' (a promotion failed:
 * forgotten if its BullMQ job, ARGV 6, is gone, else only its release is given back); 7..: (job
 * id, group ('' = the one recorded)) pairs. Returns the released job ids.
 */
const endScript = `${prelude}
sweep()
if ARGV[5] == 'unrelease' and redis.call('EXISTS', ARGV[6]) == 1 then
  local id = ARGV[7]
  local _, g = jobInfo(id)
  redis.call('ZREM', KEYS[2], id)
  if g then
    dropLease(id, g)
    refresh(g)
  end
else
  for i = 7, #ARGV, 2 do forget(ARGV[i], ARGV[i + 1]) end
end
return pump()
`

/** ARGV 5: worker member; 6..: (job id, group) of the jobs it runs. Returns the released job ids. */
const tickScript = `${prelude}
sweep()
redis.call('ZADD', KEYS[5], now + leaseMs, ARGV[5])
for i = 6, #ARGV, 2 do
  local id, g = ARGV[i], ARGV[i + 1]
  -- Only a job still known (one ended or removed meanwhile holds no slot).
  if jobInfo(id) then
    addLease(id, g)
    refresh(g)
  end
end
return pump()
`

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value))
}
