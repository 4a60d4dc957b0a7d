/**
 * Where an activity is in its lifecycle. `complete`, `error` and `canceled` are final. `waiting`:
 * suspended until a person or another system answers (a tool call waiting for approval), holding
 * no worker.
 */
export type ActivityStatus = 'queued' | 'running' | 'waiting' | 'complete' | 'error' | 'canceled'

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
  /**
   * Saved in the same transaction as the entry: the run's checkpoint (replacing the previous one).
   * Refused with `CheckpointTooLargeError` above the store's limit (nothing is written).
   */
  checkpoint?: CheckpointInput
  /**
   * With status `waiting` (and only then; required there): what the run waits for. Stored in the
   * same transaction; any move out of `waiting` clears it.
   */
  pending?: PendingRequestInput[]
  /** With `pending`: when the wait expires (ISO 8601). */
  expiresAt?: string
  /** With status `complete` (and only then): the run's result, stored in the same transaction. */
  result?: JsonValue
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

/** One page of activities: unfinished ones (queued, running, waiting) first, then newest first. */
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

/** A value that survives `JSON.stringify` then `JSON.parse` unchanged. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

/** Where a run can continue from: what a runner saves as it goes. */
export interface CheckpointInput {
  /** The runner's state to continue from (its conversation, in its own JSON shape). Opaque to the store. */
  state: JsonValue
  /** Name of the runner that wrote it (`runner.name`): a resume on another runner is refused. */
  runner: string
  /** Turns made so far. */
  turn: number
  /** Tokens used so far, over every attempt. */
  usage: Usage
  /** The attempt that wrote it. */
  attempt: number
}

/** Options of `ActivityStore.recordToolCall`. */
export interface RecordToolCallOptions {
  /** A checkpoint to save with the entry, in the same transaction. */
  checkpoint?: CheckpointInput
}

/** A stored checkpoint. */
export interface Checkpoint extends CheckpointInput {
  /** When it was saved (ISO 8601). */
  at: string
  /** Its size in bytes as stored (the UTF-8 JSON of `state`). */
  bytes: number
}

/** A completed tool call, as a run's journal keeps it. */
export interface JournalEntryInput {
  /** The id the model gave the call (unique within the run). */
  toolCallId: string
  toolName: string
  /** The input the tool ran with. */
  input: JsonValue
  /** What the tool returned (or the error text the model read). */
  output: JsonValue
  isError: boolean
  /** The attempt that ran it. */
  attempt: number
}

/** A journal entry as stored. */
export interface JournalEntry extends JournalEntryInput {
  /** When it was recorded (ISO 8601). */
  at: string
}

/** What a waiting run asks for. */
export interface PendingRequestInput {
  /** Unique within the run: a tool call's id, or the id a runner gave its suspension. */
  id: string
  /** `approval`: a tool call that needs a person's yes or no. `input`: a custom suspension that waits for a value. */
  kind: 'approval' | 'input'
  /** For approvals: the tool the model called. */
  toolName?: string
  /** For approvals: the input the model gave it. */
  input?: JsonValue
  /** For custom suspensions: what is asked, in the runner's terms. */
  payload?: JsonValue
}

/** A decision on a pending request. */
export type DecisionInput =
  | {
      type: 'approve'
      /** Run the tool with this input instead of the model's (validated by the tool's schema on resume). */
      input?: JsonValue
      reason?: string
      /** Who decided (free text: a user id, "cli"...). */
      by?: string
    }
  | { type: 'deny'; reason?: string; by?: string }
  | { type: 'respond'; value: JsonValue; by?: string }

/** A decision as stored. */
export type Decision = DecisionInput & { at: string }

/** A pending request as stored, with its decision once made. */
export interface PendingRequest extends PendingRequestInput {
  decision?: Decision
}

/** Everything the store keeps to continue a run: what `getRun` returns. */
export interface RunRecord {
  agentId: string
  /** The activity's status. */
  status: ActivityStatus
  /** The latest checkpoint, if one was saved. */
  checkpoint?: Checkpoint
  /** Completed tool calls, in the order they were recorded. */
  journal: JournalEntry[]
  /** While `waiting`: what the run waits for, with the decisions made so far. */
  pending?: PendingRequest[]
  /** When the wait expires, if it does (ISO 8601). */
  expiresAt?: string
  /** Once `complete`: the result stored with it (wrapped: a result may be `null`). */
  result?: { value: JsonValue }
}

/** A job in a store's durable queue. */
export interface QueuedJob {
  agentId: string
  /** The job as the engine gave it (JSON). */
  job: JsonValue
  /** Higher first. */
  priority: number
  /** Not claimed before this time (epoch ms). */
  readyAt: number
  /**
   * The job's fairness group (the local engine passes its task and `concurrency.key`, as
   * `JSON.stringify([task, key])`): within a priority, a claim serves the groups with the fewest
   * jobs in flight first, round-robin, so a group with many queued jobs cannot hold back the
   * others. Absent: the job belongs to the group of unkeyed jobs. A non-empty string of at most
   * `MAX_CONCURRENCY_KEY_LENGTH` characters.
   */
  concurrencyKey?: string
  /**
   * Most jobs of `concurrencyKey` held under a live lease at once, across every owner and process
   * (a lease that runs out frees its slot). An integer from 1 to `MAX_CONCURRENCY_LIMIT`; only
   * with `concurrencyKey`. Absent: the group is served fairly but has no limit of its own.
   */
  concurrencyLimit?: number
}

/** A job claimed from a durable queue. */
export interface ClaimedJob extends QueuedJob {
  /** True when a previous owner's lease on it expired (its worker was lost mid-run). */
  redelivered: boolean
}

/**
 * A job queue kept in a store (see `ActivityStore.jobQueue`). Claims are leases: a job whose owner
 * stops renewing it is claimed again by another owner (and counts as redelivered). Two owners never
 * hold the same job at once.
 */
export interface DurableJobQueue {
  /** Stores a job. Fails with `InvalidOptionsError` if a job with its agentId is queued. */
  push(job: QueuedJob): Promise<void>
  /**
   * Stores several jobs at once, all or none: every job is validated, and none is stored if one is
   * invalid, already queued or given twice (`InvalidOptionsError` naming `jobs[index]` and the
   * field), or if the store fails (one transaction). Optional: an engine falls back to `push`.
   */
  pushMany?(jobs: QueuedJob[]): Promise<void>
  /**
   * Claims up to `limit` ready jobs (ready time passed; unclaimed, or their lease expired) for
   * `owner` until `leaseMs` from now, highest priority first, then oldest. Atomic across processes.
   *
   * With jobs that have a `concurrencyKey` queued, a claim is fair: highest priority first; within
   * a priority, the group (`concurrencyKey`; unkeyed jobs form one group) with the fewest jobs in
   * flight (under a live lease) plus taken earlier in this claim first, then the group that was
   * served least recently, then the oldest job; and never a job that would put more than its
   * `concurrencyLimit` jobs of its group in flight. A queue that does this says so with
   * `fairClaims: true`.
   */
  claim(owner: string, limit: number, leaseMs: number): Promise<ClaimedJob[]>
  /**
   * True when `claim` honours `concurrencyKey` and `concurrencyLimit` (see `claim`). A queue without
   * it claims keyed jobs in plain priority order: the local engine then runs them unfairly.
   */
  readonly fairClaims?: boolean
  /**
   * Extends `owner`'s leases on these jobs; resolves with the ids it no longer holds. A lease that
   * ran out is renewed while no other owner claimed the job; for a job with a `concurrencyLimit`,
   * only while its group is still below the limit (its slot may have gone to another job).
   */
  renew(owner: string, agentIds: string[], leaseMs: number): Promise<string[]>
  /** Removes a job (it ended or was canceled); `true` if it was there. */
  remove(agentId: string): Promise<boolean>
  /** When the earliest unclaimed job becomes ready (epoch ms), or `undefined` when none is queued. */
  nextReadyAt(): Promise<number | undefined>
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
  /**
   * Input tokens written to a prompt cache (counted in `inputTokens` too), when the provider
   * reports them (Anthropic's `cache_creation_input_tokens`).
   */
  cacheWriteInputTokens?: number
  /**
   * What the tokens cost, in US dollars: priced by the runner from its model catalog (or the
   * runner's `prices`) for each model call that names its model. Absent when no call could be
   * priced; a sum over calls of which some could not be priced counts only those that could.
   */
  costUsd?: number
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
  /** How the run ended, or `waiting` for a run that is suspended (its trajectory goes on when it resumes). */
  status: Extract<ActivityStatus, 'complete' | 'error' | 'canceled' | 'waiting'>
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
  /** How many activities are unfinished: `queued`, `running` or `waiting`. */
  countActive(options?: ScopeOptions): Promise<number>
  /** Saves (replaces) the trajectory of a run. */
  saveTrajectory(agentId: string, trajectory: Trajectory): Promise<void>
  /** The trajectory of a run, or `undefined`. */
  getTrajectory(agentId: string, options?: ScopeOptions): Promise<Trajectory | undefined>
  /**
   * Saves (replaces) a run's checkpoint, outside of a status change. Fails with
   * `ActivityNotFoundError` for an unknown id, `ActivityTransitionError` (to the same status) once
   * the activity is final, and `CheckpointTooLargeError` above the store's limit (nothing written).
   */
  saveCheckpoint(agentId: string, checkpoint: CheckpointInput): Promise<void>
  /**
   * Records a completed tool call in the run's journal. The first record of a `toolCallId` wins:
   * a second one is ignored (a journaled call never changes). With `options.checkpoint`, saves it
   * in the same transaction (both or neither): a runner checkpoints the answer whose tools run
   * with the first of them to complete, one write instead of two. Same failures as `saveCheckpoint`.
   */
  recordToolCall(agentId: string, entry: JournalEntryInput, options?: RecordToolCallOptions): Promise<void>
  /**
   * Records a decision on one pending request of a `waiting` run, atomically: refused with
   * `DecisionError` (nothing changes) when the run is not waiting, the request is not pending, or
   * it was already decided. Resolves with the run's record after the decision.
   */
  decide(agentId: string, requestId: string, decision: DecisionInput): Promise<RunRecord>
  /** A run's durable record (checkpoint, journal, pending requests, result), or `undefined` if the activity is absent (or hidden by `metadata`). */
  getRun(agentId: string, options?: ScopeOptions): Promise<RunRecord | undefined>
  /** Every change from now on, pushed as it happens, until `signal` aborts. */
  watch(filter: WatchFilter, signal: AbortSignal): AsyncIterable<ActivityEvent>
  /** Releases connections and files; pending `watch` iterations end. */
  close(): Promise<void>
  /**
   * A queue kept in the store, for stores that survive a restart (SQLite, PostgreSQL): the local
   * engine keeps its jobs here, so that queued tasks run after a restart and orphaned ones resume.
   * Absent on the memory store.
   */
  readonly jobQueue?: DurableJobQueue
  /**
   * A small table of JSON documents kept beside the runs, for integrations that keep records of
   * their own in the same store (the LangGraph checkpointer of `@runner/langchain`). Every store
   * of this project has one.
   */
  readonly documents?: DocumentTable
}

/** One document of a `DocumentTable`. */
export interface StoredDocument {
  key: string
  value: JsonValue
}

/** Options of `DocumentTable.list`. */
export interface ListDocumentsOptions {
  /** Only keys that start with it. */
  prefix?: string
  /** Only keys before it (in key order). */
  before?: string
  /** Newest first: descending key order. Default false (ascending). */
  reverse?: boolean
  /** Most documents returned. Default: all. */
  limit?: number
}

/**
 * JSON documents by namespace and key, ordered by key (binary string order). Keys and namespaces
 * are 1..1000 characters; a value is refused above the store's `maxRecordBytes`.
 */
export interface DocumentTable {
  /** Writes (inserts or replaces) one document. */
  put(namespace: string, key: string, value: JsonValue): Promise<void>
  /** Writes several documents in one transaction: all or none. */
  putMany(namespace: string, documents: StoredDocument[]): Promise<void>
  /** One document's value, or `undefined`. */
  get(namespace: string, key: string): Promise<JsonValue | undefined>
  /** Documents of a namespace in key order. */
  list(namespace: string, options?: ListDocumentsOptions): Promise<StoredDocument[]>
  /** Deletes the documents whose key starts with `prefix` (all of the namespace for `''`); resolves with how many. */
  deletePrefix(namespace: string, prefix: string): Promise<number>
}
