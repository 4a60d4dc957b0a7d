import type { ActivityTracker } from '../activity/tracker.js'
import type {
  ActivityStore,
  Decision,
  DecisionInput,
  JournalEntry,
  JsonValue,
  PendingRequest,
  PendingRequestInput,
  Trajectory,
  TrajectoryStep,
  Usage,
} from '../activity/types.js'
import type { RateLimiter } from '../lifecycle/rate-limit.js'
import type { RetryOptions } from '../lifecycle/retry-policy.js'
import type { RunSession } from '../lifecycle/sessions.js'
import type { SharedBudgetUse } from '../lifecycle/shared-budget.js'
import type { RunnerPrompts } from '../prompts.js'
import type { AdapterEvent } from './events.js'
import type { RunHooks, ToolCallDecision, ToolCallInfo } from './hooks.js'
import type { Logger } from './log-hooks.js'

/** Options of one run. Each overrides the runner's default of the same name. */
export interface RunOptions<TOutput = unknown> {
  /** Id of the activity. A new id creates it (queued, then running); an existing queued one (from a pool) is reused. Default: a random UUID. */
  agentId?: string
  /** Kind of agent, stored on the activity. Default: the runner's `agentTypeOf(agent)`. */
  agentType?: string
  /** Aborting it cancels the run: the activity ends `canceled` and the run rejects with `RunCanceledError`. */
  signal?: AbortSignal
  /** Limit for the whole run, retries included. On expiry the work is aborted, the activity ends in `error` and the run rejects with `RunTimeoutError`. Default: none. */
  timeoutMs?: number
  /** Maximum model calls per attempt. Default 10. */
  maxTurns?: number
  /** On reaching `maxTurns`: ask for a wrap-up (no tools) and return what the model says, instead of throwing `MaxTurnsExceededError`. Default false. */
  maxTurnsRecovery?: boolean
  /** Extra turns granted to the wrap-up. Default 1. */
  recoveryTurns?: number
  /**
   * Limits on what the run may spend, over all its attempts (and the checkpoint it resumes from).
   * Checked before each model call: a run may overspend by at most one call. Default: none.
   */
  budget?: RunBudget
  /**
   * Retries of failed attempts. Default: 3 attempts, 500 ms doubling up to 10 s, a server's
   * `Retry-After` honoured. Inside a pool task whose agentId the run shares, the run and the task
   * count attempts on one counter (see the README's "Who retries what").
   */
  retry?: Partial<RetryOptions>
  /** Per-run hooks; they fire after the runner's. */
  hooks?: RunHooks<TOutput>
  /** Stored on the activity (tenant, user...); merged over the runner's default metadata. */
  metadata?: Record<string, unknown>
  /**
   * The run's parent, recorded as `metadata.parentId` on its activity. Default: the run or pool
   * task the run is started inside (another agentId), whose cancel and timeout then end this run
   * too. An agentId records that parent (no cascade: it may be in another process); `false` makes
   * a detached run with no parent. Runs only (not a runner default).
   */
  parent?: string | false
  /** Record a trajectory of every step, saved in the store and returned on the result. Default true. */
  recordTrajectory?: boolean
  /** Pass the framework's own events through as `native` events. Default false. */
  includeNative?: boolean
  /**
   * Keep the run durable: a checkpoint after each model answer and each completed tool call in the
   * journal, so that the run can resume after a crash without repeating a tool, and can wait for
   * approvals. Default true on a runner whose `capabilities.durable` is true; false turns the
   * writes off (a run that then calls a tool with `needsApproval` fails).
   */
  durable?: boolean
  /**
   * How long a run may wait for decisions once it is `waiting`, in ms. A decision or resume after
   * that ends the run `error` ("Approval expired") and is refused with `RunNotResumableError`
   * (`reason: 'expired'`). Default: no expiry.
   */
  approvalTimeoutMs?: number
  /**
   * A conversation carried across runs: the session's stored messages (the framework's own) go
   * before the input, and a run that completes appends its input and what the model and tools
   * added. A run that fails, is canceled or ends waiting appends nothing. Needs a store with
   * documents and a runner that supports sessions (see the README's "Sessions"). Default: none.
   */
  session?: RunSession
}

/** Limits on what one run may spend (the README's "Budgets"). */
export interface RunBudget {
  /** Tokens (`usage.totalTokens`) the run may use. */
  maxTokens?: number
  /**
   * US dollars (`usage.costUsd`) the run may spend. Calls of a model without a price count as $0
   * (the activity says so once per run).
   */
  maxCostUsd?: number
  /**
   * When a limit is reached before a model call: `'fail'` (default) fails the run with
   * `BudgetExceededError`; `'wrap-up'` makes one last call without tools asking for the final
   * answer (`prompts.wrapUp`), and the result has `budgetExceeded: true`.
   */
  onExceeded?: 'fail' | 'wrap-up'
  /**
   * Budgets shared with other runs (`createSharedBudget` from `@runner/core/adapter`: per tenant,
   * per day...), each with the key this run spends under. Checked before each model call like the
   * run's own limits, and charged with each call's usage.
   */
  shared?: SharedBudgetUse | SharedBudgetUse[]
}

/** Options of `runner.resume`: those of a run (except `agentId`), plus decisions to record first. */
export interface ResumeOptions<TOutput = unknown> extends Omit<RunOptions<TOutput>, 'agentId'> {
  /**
   * Decisions on the run's pending requests, by request id (the tool call id), recorded before the
   * run resumes: `{ type: 'approve' }`, `{ type: 'approve', input }` (edited input),
   * `{ type: 'deny', reason }`, or `{ type: 'respond', value }` for a custom suspension.
   */
  decisions?: Record<string, DecisionInput>
}

/** Options of a runner: its dependencies and its defaults for every run. */
export interface RunnerOptions<TOutput = unknown>
  extends Omit<RunOptions<TOutput>, 'agentId' | 'signal' | 'hooks' | 'agentType'> {
  /** Where activities go: a tracker (shared with your UI or pool) or a bare store. Default: a tracker on a new `MemoryActivityStore`. */
  activity?: ActivityTracker | ActivityStore
  /** Name used in logs (fallback messages) and as the default agentType. Default: the class name. */
  name?: string
  /** Overrides of the model prompts. */
  prompts?: Partial<RunnerPrompts>
  /** Hooks for every run of this runner; they fire before per-run hooks. */
  hooks?: RunHooks<TOutput>
  /**
   * Writes one structured line per lifecycle event of every run (`run.start`, `model.call`,
   * `tool.call`, `attempt.retry`, `run.end`...) to a pino logger (or any with its `(fields, message)`
   * signature, `console` included). Message content, tool inputs and outputs and metadata values
   * are left out unless `logContent`; every string is redacted. A logger that throws never fails a
   * run. Default: none.
   */
  structuredLogger?: Logger
  /** Include message content, tool inputs and outputs and metadata in the `structuredLogger`'s lines. Default false. */
  logContent?: boolean
  /**
   * Prices per model, over the model catalog's: keyed by model id (`gpt-4o-mini`) or
   * `provider/model` (`azure.ai.openai/gpt-4o-mini`, which wins over the bare id), or by a prefix
   * ending in `*` (`ft:gpt-4o-mini:*`; the longest matching prefix wins, after exact keys). A model
   * priced here is never looked up in the catalog.
   */
  prices?: Record<string, ModelPrice>
  /**
   * Provider rate limits (`createRateLimiter`), shared by every runner given the same limiter:
   * each model call waits for its slot before it is sent. Default: none.
   */
  rateLimiter?: RateLimiter
}

/** What a model's tokens cost, in US dollars per million tokens. */
export interface ModelPrice {
  /** Input tokens not read from nor written to a cache. */
  inputPerMTokUsd: number
  outputPerMTokUsd: number
  /** Input tokens read from a prompt cache. Default: `inputPerMTokUsd`. */
  cacheReadPerMTokUsd?: number
  /** Input tokens written to a prompt cache. Default: `inputPerMTokUsd`. */
  cacheWritePerMTokUsd?: number
}

/** Options after defaults are applied. */
export interface ResolvedRunOptions<TOutput = unknown> {
  agentId?: string
  agentType?: string
  signal?: AbortSignal
  parent?: string | false
  timeoutMs?: number
  maxTurns: number
  maxTurnsRecovery: boolean
  recoveryTurns: number
  budget?: RunBudget
  retry: RetryOptions
  hooks?: RunHooks<TOutput>
  metadata: Record<string, unknown>
  recordTrajectory: boolean
  includeNative: boolean
  durable: boolean
  approvalTimeoutMs?: number
  session?: RunSession
}

/**
 * What a runner can do. A runner that cannot do something says so, and the matching call throws
 * `CapabilityUnsupportedError` before anything starts, instead of quietly doing less.
 */
export interface RunnerCapabilities {
  /** `runStreamed` streams the model's output. When false, `runStreamed` throws. */
  streaming: boolean
  /** `maxTurnsRecovery` can be honoured. When false, a run with `maxTurnsRecovery: true` throws. */
  maxTurnsRecovery: boolean
  /** `onToolCallStart` can deny or rewrite tool calls. When false, a runner or run with that hook throws. */
  toolHooks: boolean
  /**
   * The runner checkpoints its runs and continues them from a checkpoint (`resume`, a redelivered
   * pool job), and can wait for approvals. When false, `resume` throws and a redelivered job starts over.
   */
  durable: boolean
}

/** What `execute` returns. */
export interface ExecuteResult<TOutput> {
  /** The framework's native result (a completion, a message, a graph state...). */
  output: TOutput
  /** The final assistant text. */
  text: string
}

/**
 * What a run resolves with: complete, or waiting for decisions. Check `status` before using `text`
 * or `output` (they are `undefined` on a waiting run).
 */
export type RunResult<TOutput = unknown> = CompletedRunResult<TOutput> | WaitingRunResult

/** A run that is suspended: its activity is `waiting`, it holds no worker, and it continues with `runner.resume`. */
export interface WaitingRunResult {
  agentId: string
  status: 'waiting'
  /** What the run waits for: the tool calls to approve or deny, or the values to give. */
  pending: PendingRequest[]
  /** When the wait expires, if `approvalTimeoutMs` was set (ISO 8601). */
  expiresAt?: string
  output?: undefined
  text?: undefined
  /** Turns made so far. */
  turns: number
  /** Tokens used so far. */
  usage: Usage
  attempts: number
  durationMs: number
  maxTurnsReached: false
  trajectory?: Trajectory
}

/** What a successful run resolves with. */
export interface CompletedRunResult<TOutput = unknown> {
  agentId: string
  status: 'complete'
  /** The framework's native result. */
  output: TOutput
  /** The final assistant text. */
  text: string
  /** Model calls made by the successful attempt. */
  turns: number
  /** Tokens summed over every turn of every attempt. */
  usage: Usage
  /** Attempts made (1 when the first succeeded). */
  attempts: number
  /** Wall time of the whole run. */
  durationMs: number
  /** True when the answer came from the wrap-up turns of `maxTurnsRecovery`. */
  maxTurnsReached: boolean
  /** Present (true) when the answer came from the wrap-up turn of `budget.onExceeded: 'wrap-up'`. */
  budgetExceeded?: true
  /** The recorded steps, unless `recordTrajectory` is false. */
  trajectory?: Trajectory
}

/** What `startTurn` tells the adapter. */
export interface TurnInfo {
  /** The turn number (1-based) within this attempt. */
  turn: number
  /** True in the wrap-up turns of `maxTurnsRecovery`: append `prompts.wrapUp` and offer no tools. */
  wrapUp: boolean
}

/** A step to record, before the base class numbers and stamps it. */
export interface StepInput {
  kind: TrajectoryStep['kind']
  data: Record<string, unknown>
  durationMs?: number
}

/** Helpers that fire the model and tool hooks (runner's, then the run's) and record their trajectory steps. */
export interface HookFirer {
  /**
   * Before each model call. `model` is the model asked for, `provider` the OpenTelemetry GenAI
   * `gen_ai.provider.name` of who serves it (`openai`, `anthropic`, `azure.ai.openai`,
   * `aws.bedrock`, `gcp.gemini`, `gcp.vertex_ai`, `mistral_ai`, `groq`, `deepseek`, `x_ai`,
   * `cohere`, `perplexity`, `ibm.watsonx.ai`, or the framework's own name lower-cased).
   */
  modelCallStart(event: { request: unknown; model?: string; provider?: string }): Promise<void>
  /**
   * After each model call; records a `model-call` step. Pass usage to `addUsage` separately: the
   * call's cost (priced here from `model`, `provider` and `usage`) is added to the run's usage
   * and the turn's. `model` and `provider` default to those given to `modelCallStart`.
   */
  modelCallEnd(event: {
    response: unknown
    text: string
    toolCalls?: ToolCallInfo[]
    usage?: Usage
    model?: string
    provider?: string
    finishReasons?: string[]
  }): Promise<void>
  /** Before a tool runs; returns the decision of the hooks (deny, or the possibly rewritten input). */
  toolCallStart(call: ToolCallInfo): Promise<{ denied: string } | { denied?: undefined; input: unknown }>
  /** After a tool ran; records a `tool-call` step. */
  toolCallEnd(event: ToolCallInfo & { output: unknown; isError: boolean; durationMs: number }): Promise<void>
}

/**
 * What `execute` receives, and what any code inside a run reaches through `currentRun()`.
 * The base class owns the lifecycle; the context is how an adapter talks to it.
 */
export interface RunContext {
  readonly agentId: string
  readonly agentType: string
  /** Attempt (1-based). */
  readonly attempt: number
  /** Current turn within the attempt (0 before `startTurn`). */
  readonly turn: number
  readonly maxTurns: number
  /** Whether reaching `maxTurns` grants wrap-up turns (`maxTurnsRecovery`). */
  readonly maxTurnsRecovery: boolean
  /** How many wrap-up turns `maxTurnsRecovery` grants. */
  readonly recoveryTurns: number
  /** The run's `timeoutMs`, if any (the signal aborts when it expires). */
  readonly timeoutMs: number | undefined
  /**
   * The attempt's signal: aborts on cancel, timeout or a consumer that stopped, and when the attempt
   * fails from inside (`fail`, a hook that threw, the turn limit) or ends. Pass it to every request
   * and tool; work still running after the attempt is over is stopped by it.
   */
  readonly signal: AbortSignal
  /** True when the caller iterates the stream: stream from the model. False for `run`. */
  readonly streaming: boolean
  /** True when `native` events are wanted. */
  readonly includeNative: boolean
  /** True during the wrap-up turns of `maxTurnsRecovery`. */
  readonly wrappingUp: boolean
  readonly metadata: Readonly<Record<string, unknown>>
  readonly prompts: RunnerPrompts
  /** Reports progress on the activity (status `running`). `percentage` is an integer 0..100. */
  report(message: string, percentage?: number): Promise<void>
  /** Sends an event to the stream. */
  emit(event: AdapterEvent): void
  /** Records a trajectory step. */
  recordStep(step: StepInput): void
  /** Adds tokens to the run's (and the current turn's) usage. */
  addUsage(usage: Partial<Usage>): void
  /**
   * Starts a model call: counts the turn, emits `turn-start`, and enforces `maxTurns`: past the
   * limit it either enters the wrap-up turns (`wrapUp: true`) or throws `MaxTurnsExceededError`
   * (and fails the attempt, so that a framework that swallows the throw stops too). Enforces the
   * run's `budget` the same way: once a limit is reached, its one wrap-up call (`wrapUp: true`) or
   * `BudgetExceededError`.
   */
  startTurn(): Promise<TurnInfo>
  /**
   * What `startTurn` would give next, without counting a turn: the next turn (`wrapUp` when it is a
   * wrap-up turn), or `undefined` when the limit is reached and `startTurn` would throw. A reached
   * `budget` shows here only as its wrap-up call (`onExceeded: 'wrap-up'`); otherwise `startTurn`
   * throws `BudgetExceededError` (and fails the attempt) although this gave a turn.
   */
  nextTurn(): TurnInfo | undefined
  /** Ends the current turn: emits `turn-end` with the usage added during it. */
  endTurn(): void
  /**
   * Fails the attempt with `error` from inside a framework callback that swallows what it throws:
   * the signal aborts with `error` and the attempt ends with it (the first failure wins).
   */
  fail(error: unknown): void
  /**
   * Makes one model request with `send`, repeating it in place (same turn, same conversation, no
   * tool run again) when it fails with an error the run's retry policy retries, as long as
   * nothing of this request has reached the reader. Each repeat is an attempt: logged on the
   * activity, announced with a `retry` event (`restart: false`), after a backoff that honours
   * `Retry-After`. Adapters switch their SDK's own retries off and send each request through it.
   */
  modelRequest<T>(send: () => PromiseLike<T>): Promise<T>
  /** Fires the model and tool hooks. A hook that throws fails the attempt (`HookError`). */
  readonly hooks: HookFirer
  /** True when the run is durable (`durable` option and the runner's capability): checkpoints and the journal are written. */
  readonly durable: boolean
  /**
   * Set when this run continues a checkpoint (after a crash, a lost worker, or decisions): the
   * runner restores its conversation from `state` instead of starting from the input.
   */
  readonly resumed: ResumeState | undefined
  /**
   * Saves a checkpoint: `state` is what the runner needs to continue (its conversation, JSON), with
   * the run's turn, usage and attempt. Latest wins. Does nothing when the run is not durable.
   * `withNextToolResult: true` saves it with the next tool call journaled (one store write
   * instead of two): for the checkpoint of an answer whose tools run next. If no call of it is
   * journaled (all replayed or refused), it is not saved, and a resume goes on from the one
   * before (asking the model again: nothing it did had an effect).
   */
  checkpoint(state: JsonValue, options?: { withNextToolResult?: boolean }): Promise<void>
  /** The journaled outcome of a tool call that completed before (in an earlier process), if any. */
  journaled(toolCallId: string): JournalEntry | undefined
  /** Records a completed tool call in the journal (the tool-call protocol does it for every tool it runs). */
  journal(entry: Omit<JournalEntry, 'at' | 'attempt'>): Promise<void>
  /**
   * The key a tool should give an external API to dedupe its side effect: stable across attempts
   * and processes (`<agentId>:<toolCallId>`).
   */
  idempotencyKey(toolCallId: string): string
  /**
   * Suspends the run: saves `state` as the checkpoint and moves the activity to `waiting` with
   * `requests`; the run resolves with `status: 'waiting'`. Never returns (it throws a suspension
   * that the lifecycle catches: let it propagate). Throws `CapabilityUnsupportedError` when the
   * run is not durable.
   */
  suspend(requests: PendingRequestInput[], state: JsonValue): Promise<never>
  /** The decision on a pending request, once the run resumes with it. */
  decision(requestId: string): Decision | undefined
}

/** What a resumed run starts from. */
export interface ResumeState {
  /** The `state` of the checkpoint. */
  state: JsonValue
  /** The turn the checkpoint was written at (the run goes on from the next). */
  turn: number
  /** Why the run resumes: `decisions` (after a wait) or `recovery` (a crash, a lost worker). */
  reason: 'decisions' | 'recovery'
  /** The requests the run waited for, with their decisions (after a wait). */
  pending: PendingRequest[]
}

export type { ToolCallDecision }
