/** Where an activity is in its lifecycle. `complete`, `error` and `canceled` are final. */
export type ActivityStatus = 'queued' | 'running' | 'complete' | 'error' | 'canceled'

/** A metadata value that can be filtered on: key equality only. */
export type MetadataValue = string | number | boolean | null

/**
 * What a log entry records, so that code reads it from a field instead of parsing the message:
 *
 * - `lifecycle`: a status move written by the runner or the pool (queued, started, complete,
 *   error, canceled, timed out). The entry `create` writes is one.
 * - `progress`: a report from the agent or the task (the `report_status` tool, `report()`).
 * - `retry`: an attempt failed and another follows (or a lost worker's job is redelivered).
 * - `fallback`: a fallback runner takes over.
 * - `resume`: a durable run resumes.
 * - `approval`: a human decision.
 */
export type ActivityLogKind = 'lifecycle' | 'progress' | 'retry' | 'fallback' | 'resume' | 'approval'

/** One line of an activity's append-only log. */
export interface ActivityLogEntry {
  /** The status the activity had after this entry. */
  status: ActivityStatus
  /** A short, user-facing message ("Searching the web", "Complete"). */
  message: string
  /** Progress set by this entry (integer 0..100), or `null` when the entry did not set one. */
  percentage: number | null
  /** When the entry was written (ISO 8601). */
  at: string
  /** The attempt (1-based) the entry belongs to, when it belongs to one. Absent (no key) otherwise. */
  attempt?: number
  /** What the entry records (see `ActivityLogKind`). Absent (no key) when the writer did not give one. */
  kind?: ActivityLogKind
}

/** The current state of an activity, without its log: what lists return. */
export interface ActivitySummary {
  /** Unique id of the run (or pool task) this activity tracks. */
  agentId: string
  /** Kind of agent ("research", "support"); free text chosen by the caller. */
  agentType: string
  /** Current status. */
  status: ActivityStatus
  /** Message of the latest log entry. */
  message: string
  /** Latest known progress, integer 0..100 (100 once complete). */
  percentage: number
  /** Caller-defined data (tenant, user, task input summary). Filters match keys by equality. */
  metadata: Record<string, unknown>
  /** When the activity was created (ISO 8601). */
  createdAt: string
  /** When the latest entry was written (ISO 8601). */
  updatedAt: string
  /** When it first moved to `running`, if it did. */
  startedAt?: string
  /** When it reached a final status, if it did. */
  finishedAt?: string
}

/** The full state of an activity: its summary and its whole log, oldest first. */
export interface Activity extends ActivitySummary {
  log: ActivityLogEntry[]
}

/** What a store needs to create an activity. It starts `queued`. */
export interface CreateActivityInput {
  agentId: string
  agentType: string
  /** The first log message. */
  message: string
  metadata?: Record<string, unknown>
}

/** One change to append to an activity's log. */
export interface AppendActivityInput {
  /** The status the activity moves to (the move must be legal). */
  status: ActivityStatus
  /** A short, user-facing message. */
  message: string
  /** Integer 0..100, or `null`/absent to keep the current percentage. */
  percentage?: number | null
  /** The attempt (1-based, integer up to 1,000,000) the entry belongs to. Omit when it belongs to none. */
  attempt?: number
  /** What the entry records (one of `ACTIVITY_LOG_KINDS`). Omit to write none. */
  kind?: ActivityLogKind
}

/** Metadata filter: every key must be present with an equal value (keys are ANDed). */
export type MetadataFilter = Record<string, MetadataValue>

/** Options of `ActivityStore.list`. */
export interface ListActivitiesOptions {
  /** Only activities in this status (or any of these statuses). */
  status?: ActivityStatus | ActivityStatus[]
  /** Only activities whose metadata matches every key. */
  metadata?: MetadataFilter
  /** Page size, 1..1000. Default 50. */
  limit?: number
  /** `nextCursor` of the previous page. */
  cursor?: string
}

/** One page of activities: active ones (queued, running) first, then newest first. */
export interface ListActivitiesResult {
  items: ActivitySummary[]
  /** Pass as `cursor` to get the next page; absent on the last page. */
  nextCursor?: string
  /** How many activities match the filter, over all pages. */
  total: number
}

/** Options of reads that can be scoped by metadata (multi-tenant isolation). */
export interface ScopeOptions {
  /** When given, an activity whose metadata does not match is treated as absent. */
  metadata?: MetadataFilter
}

/**
 * What `watch` yields: the log entry that changed an activity, and the activity's summary. The
 * summary is the state right after the change (PostgreSQL keeps this across processes too), except
 * for changes a SQLite store learns of from another process, where it is the state when the change
 * was read.
 */
export interface ActivityEvent {
  agentId: string
  activity: ActivitySummary
  entry: ActivityLogEntry
}

/** Filter of `watch`. */
export interface WatchFilter {
  /** Only changes of this activity. */
  agentId?: string
  /** Only changes of activities whose metadata matches. */
  metadata?: MetadataFilter
}

/** Token counts of one model call, one turn, or a whole run. */
export interface Usage {
  inputTokens: number
  outputTokens: number
  totalTokens: number
  /** Input tokens served from a prompt cache, when the provider reports them. */
  cachedInputTokens?: number
  /** Tokens spent on reasoning, when the provider reports them. */
  reasoningTokens?: number
}

/** One recorded step of a run: a model call, a tool call, a status report, a retry or a note. */
export interface TrajectoryStep {
  /** Position in the trajectory, from 0. */
  index: number
  /** What happened. */
  kind: 'model-call' | 'tool-call' | 'status' | 'retry' | 'fallback' | 'note'
  /** Attempt (1-based) the step belongs to. */
  attempt: number
  /** Turn (1-based) the step belongs to; 0 before the first model call. */
  turn: number
  /** When the step was recorded (ISO 8601). */
  at: string
  /** How long the step took, when it has a duration. */
  durationMs?: number
  /** Free-form step data: request/response summary, tool input/output, message. JSON-serialisable. */
  data: Record<string, unknown>
}

/** Everything recorded about one run, saved when the run ends. */
export interface Trajectory {
  agentId: string
  agentType: string
  /** How the run ended. */
  status: Extract<ActivityStatus, 'complete' | 'error' | 'canceled'>
  startedAt: string
  finishedAt: string
  usage: Usage
  steps: TrajectoryStep[]
}

/**
 * Where activities live. Every implementation must pass `activityStoreConformanceSuite`.
 * Stores validate lifecycle moves in `append` and never apply an illegal one.
 */
export interface ActivityStore {
  /**
   * Creates a `queued` activity whose log holds one `lifecycle` entry. Fails with
   * `InvalidOptionsError` if the agentId exists.
   */
  create(input: CreateActivityInput): Promise<Activity>
  /**
   * Appends one entry and moves the activity to its status; the entry keeps `attempt` and `kind`
   * when given. Fails with `ActivityNotFoundError` for an unknown id, `ActivityTransitionError` for
   * an illegal move and `InvalidOptionsError` for invalid input (nothing is written).
   */
  append(agentId: string, entry: AppendActivityInput): Promise<Activity>
  /** The activity with its log, or `undefined` if absent (or hidden by `metadata`). */
  get(agentId: string, options?: ScopeOptions): Promise<Activity | undefined>
  /** One page of activities. */
  list(options?: ListActivitiesOptions): Promise<ListActivitiesResult>
  /** How many activities are `queued` or `running`. */
  countActive(options?: ScopeOptions): Promise<number>
  /** Saves (replaces) the trajectory of a run. */
  saveTrajectory(agentId: string, trajectory: Trajectory): Promise<void>
  /** The trajectory of a run, or `undefined`. */
  getTrajectory(agentId: string, options?: ScopeOptions): Promise<Trajectory | undefined>
  /** Every change from now on, pushed as it happens, until `signal` aborts. */
  watch(filter: WatchFilter, signal: AbortSignal): AsyncIterable<ActivityEvent>
  /** Releases connections and files; pending `watch` iterations end. */
  close(): Promise<void>
}
