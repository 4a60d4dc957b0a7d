import { Cron } from 'croner'
import { z } from 'zod'
import type { ActivityStore, JsonValue } from '../activity/types.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { parseOrThrow } from '../util/zod-issues.js'
import { prioritySchema } from './options.js'
import { toJson } from './to-json.js'
import type { EngineSchedules, ScheduleDefinition, ScheduleInfo } from './types.js'

/**
 * Schedules of the task pool: validation (cron expressions parsed by `croner`), the next firing
 * time, and the scheduler that keeps the timers in this process for every engine that has no
 * schedules of its own (`localEngine()`).
 */

/** Shortest `every` a schedule may have, in ms. */
export const minScheduleEveryMs = 1000

/** Longest `setTimeout` delay Node accepts (a longer wait is cut in pieces). */
const maxTimerMs = 2_147_483_647

/**
 * A firing handled more than this long after its time is a missed firing: the schedule's `missed`
 * policy decides whether it runs (`run-once`) or is dropped (`skip`).
 */
export const missedAfterMs = 60_000

/** Where the local scheduler keeps each schedule's state (paused, last firing) in the store's documents. */
const namespace = 'runner.pool.schedules'

const scheduleNameSchema = z
  .string({ error: 'must be a string' })
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/,
    'must be 1 to 100 letters, digits, "_", "." or "-", starting with a letter or digit',
  )

const scheduleOptionsSchema = z.strictObject({
  task: z.string({ error: 'must be the name of a registered task' }),
  cron: z.string({ error: 'must be a cron expression string, such as "0 9 * * 1-5"' }).optional(),
  every: z
    .number({ error: 'must be a number of milliseconds' })
    .int('must be an integer number of milliseconds')
    .min(minScheduleEveryMs, `must be at least ${minScheduleEveryMs} (1 s)`)
    .max(maxTimerMs, `must be at most ${maxTimerMs}`)
    .optional(),
  timezone: z.string({ error: 'must be an IANA time zone name, such as "Europe/Paris"' }).optional(),
  input: z.unknown().optional(),
  metadata: z.record(z.string(), z.unknown(), { error: 'must be an object' }).optional(),
  priority: prioritySchema.optional(),
  missed: z.enum(['skip', 'run-once'], { error: 'must be "skip" or "run-once"' }).optional(),
})

/**
 * Validates `pool.schedule(name, options)` up to the task's input (which the pool checks with the
 * task's schema): name, exactly one of `cron` / `every`, the cron expression (croner's message
 * wrapped, naming `cron` and the expression), the time zone, priority, missed policy.
 */
export function parseSchedule(
  name: unknown,
  options: unknown,
): Omit<ScheduleDefinition, 'input'> & { input: unknown } {
  const subject = 'schedule'
  const scheduleName = parseOrThrow(scheduleNameSchema, name, subject, 'name')
  const valid = parseOrThrow(scheduleOptionsSchema, options, 'schedule options')
  if ((valid.cron === undefined) === (valid.every === undefined)) {
    throw new InvalidOptionsError(
      [
        {
          field: valid.cron === undefined ? 'every' : 'cron',
          message:
            'give exactly one of cron (a cron expression, such as "*/5 * * * *") and every (an interval in ms)',
        },
      ],
      { subject },
    )
  }
  if (valid.every !== undefined && valid.timezone !== undefined) {
    throw new InvalidOptionsError(
      [
        {
          field: 'timezone',
          message: 'applies to cron only: an every interval does not depend on a time zone',
        },
      ],
      { subject },
    )
  }
  const timezone = valid.timezone ?? 'UTC'
  if (valid.timezone !== undefined) assertTimeZone(valid.timezone)
  if (valid.cron !== undefined) assertCron(valid.cron, timezone)
  if (valid.metadata !== undefined) {
    const json = toJson(valid.metadata)
    if (!json.ok) {
      throw new InvalidOptionsError(
        [
          {
            field: json.path === '' ? 'metadata' : `metadata.${json.path}`,
            message: `${json.problem}; metadata must be JSON`,
          },
        ],
        { subject },
      )
    }
  }
  return {
    name: scheduleName,
    task: valid.task,
    ...(valid.cron === undefined ? {} : { cron: valid.cron, timezone }),
    ...(valid.every === undefined ? {} : { every: valid.every }),
    input: valid.input,
    ...(valid.metadata === undefined ? {} : { metadata: valid.metadata as Record<string, JsonValue> }),
    priority: valid.priority ?? 0,
    missed: valid.missed ?? 'skip',
  }
}

/** `InvalidOptionsError` naming `timezone` unless `timezone` is an IANA time zone this runtime knows. */
function assertTimeZone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone })
  } catch {
    throw new InvalidOptionsError(
      [
        {
          field: 'timezone',
          message: `unknown time zone ${JSON.stringify(timezone)}; give an IANA time zone name, such as "Europe/Paris" or "UTC"`,
        },
      ],
      { subject: 'schedule' },
    )
  }
}

/** `InvalidOptionsError` naming `cron` and the expression, with croner's reason. */
function assertCron(cron: string, timezone: string): void {
  try {
    // Without a function croner starts no timer: it only parses.
    new Cron(cron, { timezone })
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new InvalidOptionsError(
      [
        {
          field: 'cron',
          message: `${JSON.stringify(cron)} is not a valid cron expression (${reason}); use 5 fields (minute hour day month weekday) or 6 with seconds first`,
        },
      ],
      { subject: 'schedule', cause: error },
    )
  }
}

/**
 * When a schedule fires next, strictly after `afterMs` (ms since the epoch), or `undefined` when
 * it never does again. `every` ticks are multiples of the interval since the epoch, so that every
 * process computes the same ticks; `cron` is read by croner in the schedule's time zone.
 */
export function nextScheduleRun(
  schedule: Pick<ScheduleDefinition, 'cron' | 'every' | 'timezone'>,
  afterMs: number,
): number | undefined {
  if (schedule.every !== undefined) return (Math.floor(afterMs / schedule.every) + 1) * schedule.every
  if (schedule.cron === undefined) return undefined
  const next = new Cron(schedule.cron, { timezone: schedule.timezone ?? 'UTC' }).nextRun(new Date(afterMs))
  return next ? next.getTime() : undefined
}

/** The agentId of a schedule's firing at `tickMs`: the same in every process, so a tick runs once. */
export function firingAgentId(schedule: string, tickMs: number): string {
  return `schedule.${schedule}.${tickMs}`
}

/** What the local scheduler keeps per schedule in the store's documents. */
interface ScheduleState {
  paused: boolean
  /** Time (ms) of the last tick fired. */
  lastFiredAt?: number
}

/** What `createLocalSchedules` needs from the pool. */
export interface LocalSchedulesOptions {
  store: ActivityStore
  /** Enqueues the firing of `schedule` at `tickMs` (a tick fired already is a no-op). */
  fire: (schedule: ScheduleDefinition, tickMs: number) => Promise<unknown>
  /** Told of a firing that failed (the schedule keeps firing). */
  onError: (error: unknown, schedule: ScheduleDefinition) => void
}

/** The local scheduler, plus `close` to stop its timers. */
export interface LocalSchedules extends EngineSchedules {
  close(): void
}

interface Entry {
  definition: ScheduleDefinition
  timer: NodeJS.Timeout | undefined
  /** When the timer fires (ms). */
  nextRunAt: number | undefined
  state: ScheduleState
  /** Bumped at every change, so that a firing started before it does not re-arm an old timer. */
  version: number
}

/**
 * Schedules kept by this process: one timer per schedule (cleared by `close`), the next tick
 * computed with `nextScheduleRun`. Each schedule's state (paused, last tick fired) is kept in the
 * store's documents (namespace `runner.pool.schedules`), so that on a durable store a restart
 * knows which ticks it missed, and a pause outlives the process.
 */
export function createLocalSchedules(options: LocalSchedulesOptions): LocalSchedules {
  const { store, fire, onError } = options
  const entries = new Map<string, Entry>()
  const inProcess = new Map<string, ScheduleState>()
  let closed = false

  async function readState(name: string): Promise<ScheduleState | undefined> {
    if (!store.documents) return inProcess.get(name)
    const value = (await store.documents.get(namespace, name)) as ScheduleState | undefined
    return value === undefined ? undefined : value
  }

  async function writeState(name: string, state: ScheduleState): Promise<void> {
    if (!store.documents) {
      inProcess.set(name, state)
      return
    }
    await store.documents.put(namespace, name, state as unknown as JsonValue)
  }

  async function forgetState(name: string): Promise<void> {
    if (!store.documents) inProcess.delete(name)
    else await store.documents.deletePrefix(namespace, name).then(() => {})
  }

  function disarm(entry: Entry): void {
    clearTimeout(entry.timer)
    entry.timer = undefined
    entry.nextRunAt = undefined
    entry.version++
  }

  function arm(entry: Entry, afterMs: number): void {
    disarm(entry)
    if (closed || entry.state.paused) return
    const next = nextScheduleRun(entry.definition, afterMs)
    if (next === undefined) return
    entry.nextRunAt = next
    const version = entry.version
    const wait = () => {
      const delay = next - Date.now()
      entry.timer = setTimeout(
        () => {
          if (entry.version !== version) return
          if (Date.now() < next) wait()
          else void tick(entry, next, version)
        },
        Math.min(Math.max(delay, 0), maxTimerMs),
      )
    }
    wait()
  }

  async function tick(entry: Entry, tickMs: number, version: number): Promise<void> {
    const { definition } = entry
    try {
      // Another process on the same store may have paused, resumed or removed it.
      const state = await readState(definition.name)
      if (entry.version !== version) return
      if (state === undefined) {
        // Removed elsewhere (every declared schedule has a state): forget it here too.
        disarm(entry)
        if (entries.get(definition.name) === entry) entries.delete(definition.name)
        return
      }
      const late = Date.now() - tickMs > missedAfterMs
      // Paused elsewhere: this tick is skipped, and the next one checks again.
      if (!state.paused && (!late || definition.missed === 'run-once')) {
        await fire(definition, tickMs)
        entry.state = { paused: false, lastFiredAt: tickMs }
        await writeState(definition.name, entry.state)
      }
    } catch (error) {
      onError(error, definition)
    } finally {
      if (entry.version === version) arm(entry, Math.max(tickMs, Date.now()))
    }
  }

  function info(entry: Entry): ScheduleInfo {
    return infoOf(entry.definition, {
      paused: entry.state.paused,
      nextRunAt: entry.nextRunAt,
      lastFiredAt: entry.state.lastFiredAt,
    })
  }

  return {
    async upsert(definition) {
      const state: ScheduleState = (await readState(definition.name)) ?? { paused: false }
      await writeState(definition.name, state)
      const previous = entries.get(definition.name)
      if (previous) disarm(previous)
      const entry: Entry = { definition, timer: undefined, nextRunAt: undefined, state, version: 0 }
      entries.set(definition.name, entry)
      if (!state.paused) await catchUp(entry)
      if (entries.get(definition.name) === entry) arm(entry, Date.now())
      return info(entry)
    },

    async list() {
      // The state in the store: a pause or a firing of another process on the same store shows.
      const listed = await Promise.all(
        [...entries.values()].map(async (entry) => {
          const state = (await readState(entry.definition.name)) ?? entry.state
          return infoOf(entry.definition, {
            paused: state.paused,
            nextRunAt: state.paused ? undefined : entry.nextRunAt,
            lastFiredAt: state.lastFiredAt,
          })
        }),
      )
      return listed.sort((a, b) => a.name.localeCompare(b.name))
    },

    async pause(name) {
      const entry = entries.get(name)
      if (!entry) return false
      disarm(entry)
      entry.state = { ...entry.state, paused: true }
      await writeState(name, entry.state)
      return true
    },

    async resume(name) {
      const entry = entries.get(name)
      if (!entry) return false
      entry.state = { ...entry.state, paused: false }
      await writeState(name, entry.state)
      arm(entry, Date.now())
      return true
    },

    async remove(name) {
      const entry = entries.get(name)
      if (entry) disarm(entry)
      entries.delete(name)
      const known = entry !== undefined || (await readState(name)) !== undefined
      await forgetState(name)
      return known
    },

    close() {
      closed = true
      for (const entry of entries.values()) disarm(entry)
    },
  }

  /**
   * At registration: the first tick after the last one fired, if it has passed (no process ran
   * the schedule then), fires once when it is not yet a missed firing or the policy is `run-once`.
   */
  async function catchUp(entry: Entry): Promise<void> {
    const last = entry.state.lastFiredAt
    if (last === undefined) return
    const missed = nextScheduleRun(entry.definition, last)
    const now = Date.now()
    if (missed === undefined || missed > now) return
    if (now - missed > missedAfterMs && entry.definition.missed !== 'run-once') return
    try {
      await fire(entry.definition, missed)
      entry.state = { ...entry.state, lastFiredAt: missed }
      await writeState(entry.definition.name, entry.state)
    } catch (error) {
      onError(error, entry.definition)
    }
  }
}

/** The `ScheduleInfo` of a definition and its state. */
export function infoOf(
  definition: ScheduleDefinition,
  state: { paused: boolean; nextRunAt: number | undefined; lastFiredAt: number | undefined },
): ScheduleInfo {
  return {
    ...definition,
    paused: state.paused,
    ...(state.nextRunAt === undefined ? {} : { nextRunAt: new Date(state.nextRunAt).toISOString() }),
    ...(state.lastFiredAt === undefined ? {} : { lastFiredAt: new Date(state.lastFiredAt).toISOString() }),
  }
}
