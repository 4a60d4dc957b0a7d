import { z } from 'zod'
import { ActivityNotFoundError } from '../errors/activity-not-found-error.js'
import { errorMessage } from '../util/error-message.js'
import { randomId } from '../util/random-id.js'
import { parseOrThrow } from '../util/zod-issues.js'
import { MemoryActivityStore } from './memory-store.js'
import { percentageSchema } from './store-helpers.js'
import type {
  Activity,
  ActivityEvent,
  ActivityLogKind,
  ActivityStatus,
  ActivityStore,
  AppendActivityInput,
  CreateActivityInput,
  ListActivitiesOptions,
  ListActivitiesResult,
  ScopeOptions,
  Trajectory,
  WatchFilter,
} from './types.js'

/** The messages written on the activity log at each lifecycle step. Every one is configurable. */
export interface LifecycleMessages {
  /** When the activity is created. Default `"Waiting to start"`. */
  queued: string
  /** When a run starts. Default `"Started"`. */
  started: string
  /** When a run completes. Default `"Complete"`. */
  complete: string
  /** When a run fails. Default `` `Failed: ${error.message}` ``. */
  error: (error: unknown) => string
  /** When a run is canceled. Default `"Canceled"`. */
  canceled: string
  /** When a run times out. Default `` `Timed out after ${timeoutMs} ms` ``. */
  timedOut: string | ((timeoutMs: number) => string)
}

/** Options of `createActivityTracker`. */
export interface ActivityTrackerOptions {
  /** Where activities are kept. Default: a new `MemoryActivityStore`. */
  store?: ActivityStore
  /** Overrides of the lifecycle messages. */
  messages?: Partial<LifecycleMessages>
}

/** Options of `ActivityTracker.create`. */
export interface CreateOptions {
  /** Use this id instead of a random UUID. */
  agentId?: string
  /** Caller-defined data, filterable by key equality (tenant, user...). */
  metadata?: Record<string, unknown>
  /** First log message. Default `messages.queued`. */
  message?: string
}

/** The structured fields of a log entry, which `update`, `complete`, `error` and `cancel` accept. */
export interface LogEntryOptions {
  /** The attempt (1-based) the entry belongs to. Default: none (the entry has no `attempt`). */
  attempt?: number
  /** What the entry records. Default: none (the entry has no `kind`). */
  kind?: ActivityLogKind
}

/** Options of `ActivityTracker.update`. */
export interface UpdateOptions extends LogEntryOptions {
  /** Integer 0..100. Omit to keep the current percentage. */
  percentage?: number
  /** New status. Default `running`. */
  status?: ActivityStatus
}

/** The facade runners and user code call to record what agents are doing. */
export interface ActivityTracker {
  readonly store: ActivityStore
  readonly messages: LifecycleMessages
  /** Creates a queued activity and returns its agentId. */
  create(agentType: string, options?: CreateOptions): Promise<string>
  /** Appends a progress message (status `running` unless given). */
  update(agentId: string, message: string, options?: UpdateOptions): Promise<Activity>
  /** Moves to `complete` at 100% (with `messages.complete` unless a message is given). */
  complete(agentId: string, message?: string, options?: LogEntryOptions): Promise<Activity>
  /** Moves to `error` with `messages.error(error)`. */
  error(agentId: string, error: unknown, options?: LogEntryOptions): Promise<Activity>
  /** Moves to `canceled` (with `messages.canceled` unless a message is given). */
  cancel(agentId: string, message?: string, options?: LogEntryOptions): Promise<Activity>
  /** The activity with its log. Throws `ActivityNotFoundError` if absent (or hidden by `metadata`). */
  detail(agentId: string, options?: ScopeOptions): Promise<Activity>
  /** One page of activities, active first, then newest. */
  list(options?: ListActivitiesOptions): Promise<ListActivitiesResult>
  /** Number of queued and running activities. */
  countActive(options?: ScopeOptions): Promise<number>
  /** Every change from now on, until `signal` aborts. */
  watch(filter?: WatchFilter, signal?: AbortSignal): AsyncIterable<ActivityEvent>
  /** The recorded trajectory of a run, if any. */
  trajectory(agentId: string, options?: ScopeOptions): Promise<Trajectory | undefined>
}

/** The default lifecycle messages. */
export const defaultLifecycleMessages: LifecycleMessages = {
  queued: 'Waiting to start',
  started: 'Started',
  complete: 'Complete',
  error: (error) => `Failed: ${errorMessage(error)}`,
  canceled: 'Canceled',
  timedOut: (timeoutMs) => `Timed out after ${timeoutMs} ms`,
}

/** The `timedOut` message for a limit. */
export function timedOutMessage(messages: LifecycleMessages, timeoutMs: number): string {
  return typeof messages.timedOut === 'function' ? messages.timedOut(timeoutMs) : messages.timedOut
}

const updateSchema = z.object({
  message: z.string({ error: 'must be a string' }),
  percentage: percentageSchema.optional(),
})

/** Creates the activity facade over a store. */
export function createActivityTracker(options: ActivityTrackerOptions = {}): ActivityTracker {
  const store = options.store ?? new MemoryActivityStore()
  const messages: LifecycleMessages = { ...defaultLifecycleMessages, ...options.messages }

  return {
    store,
    messages,
    async create(agentType, createOptions = {}) {
      const agentId = createOptions.agentId ?? randomId()
      const input: CreateActivityInput = {
        agentId,
        agentType,
        message: createOptions.message ?? messages.queued,
      }
      if (createOptions.metadata) input.metadata = createOptions.metadata
      await store.create(input)
      return agentId
    },
    update(agentId, message, updateOptions = {}) {
      const { percentage } = updateOptions
      // The schema only when the cheap check fails: it names what is wrong.
      if (typeof message !== 'string' || (percentage !== undefined && !isPercentage(percentage))) {
        try {
          parseOrThrow(updateSchema, { message, percentage }, 'activity update')
        } catch (error) {
          return Promise.reject(error)
        }
      }
      return store.append(
        agentId,
        entryInput(updateOptions.status ?? 'running', message, percentage ?? null, updateOptions),
      )
    },
    complete(agentId, message, entryOptions) {
      return store.append(agentId, entryInput('complete', message ?? messages.complete, 100, entryOptions))
    },
    error(agentId, error, entryOptions) {
      return store.append(agentId, entryInput('error', messages.error(error), null, entryOptions))
    },
    cancel(agentId, message, entryOptions) {
      return store.append(agentId, entryInput('canceled', message ?? messages.canceled, null, entryOptions))
    },
    async detail(agentId, scope) {
      const activity = await store.get(agentId, scope)
      if (!activity) throw new ActivityNotFoundError(agentId)
      return activity
    },
    list: (listOptions) => store.list(listOptions),
    countActive: (scope) => store.countActive(scope),
    watch(filter = {}, signal = new AbortController().signal) {
      return store.watch(filter, signal)
    },
    trajectory: (agentId, scope) => store.getTrajectory(agentId, scope),
  }
}

/** An integer from 0 to 100. */
function isPercentage(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 100
}

/** An append with the `attempt` and `kind` given, and no key for the ones that are not. */
function entryInput(
  status: ActivityStatus,
  message: string,
  percentage: number | null,
  options: LogEntryOptions | undefined,
): AppendActivityInput {
  const input: AppendActivityInput = { status, message, percentage }
  if (options?.attempt !== undefined) input.attempt = options.attempt
  if (options?.kind !== undefined) input.kind = options.kind
  return input
}

export { errorMessage }
