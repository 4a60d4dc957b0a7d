import { type ActivityTracker, createActivityTracker } from '../activity/tracker.js'
import type { ActivityStore, DecisionInput, JsonValue, RunRecord } from '../activity/types.js'
import { CapabilityUnsupportedError } from '../errors/capability-unsupported-error.js'
import { hasMarker } from '../errors/runner-error.js'
import { toCanceled } from '../lifecycle/deadline.js'
import { decide } from '../lifecycle/decide.js'
import { isTransientError } from '../lifecycle/retry-policy.js'
import { type Executor, type RunStart, runLifecycle } from '../lifecycle/run-lifecycle.js'
import type { SessionCodec } from '../lifecycle/sessions.js'
import { defaultPrompts, type RunnerPrompts } from '../prompts.js'
import type { ToolDefinition } from '../tools/define-tool.js'
import { type ReportStatusInput, reportStatusTool } from '../tools/report-status.js'
import { randomId } from '../util/random-id.js'
import { validateRunnerOptions } from './options.js'
import { RunStream } from './run-stream.js'
import type {
  ExecuteResult,
  ResumeOptions,
  RunContext,
  RunnerCapabilities,
  RunnerOptions,
  RunOptions,
  RunResult,
} from './types.js'

export { currentRun } from '../lifecycle/current.js'

const runnerMarker = Symbol.for('runner.BaseAgentRunner')
const executorKey = Symbol.for('runner.executor')

function isTracker(value: ActivityTracker | ActivityStore): value is ActivityTracker {
  return 'store' in value && 'detail' in value
}

/** True for a runner made by any copy of `@runner/core` (a marker, not `instanceof`). */
export function isRunner(value: unknown): value is BaseAgentRunner<unknown, unknown, unknown, unknown> {
  return hasMarker(value, runnerMarker)
}

/**
 * The lifecycle's view of a runner: its framework parts (`execute`, `validate`, `isRetryable`...)
 * and defaults. The seam through which `withFallback` composes runners of any framework.
 */
export function executorOf<TAgent, TInput, TOutput>(
  runner: BaseAgentRunner<TAgent, TInput, TOutput, unknown>,
): Executor<TAgent, TInput, TOutput> {
  return (runner as unknown as Record<symbol, () => Executor<TAgent, TInput, TOutput>>)[executorKey]!()
}

/**
 * The base of every runner. The lifecycle (`runLifecycle`: activity, events, hooks, retries,
 * timeouts, cancellation, turn limits, usage, trajectory) drives it; a subclass implements `execute`
 * for its framework and nothing of the lifecycle.
 *
 * `run` is `runStreamed` without a reader: both share one code path, so they cannot disagree.
 */
export abstract class BaseAgentRunner<
  TAgent,
  TInput,
  TOutput,
  /** The type of `tools.reportStatus`: the framework's own tool shape (core's neutral tool by default). */
  TReportStatus = ToolDefinition<ReportStatusInput, string>,
> {
  readonly [runnerMarker] = true
  /** Name used in logs and as the default agentType. */
  readonly name: string
  /** The activity facade this runner records to. */
  readonly activity: ActivityTracker
  /** The prompts given to models. */
  readonly prompts: RunnerPrompts
  /** The options this runner was created with (its defaults for every run). */
  protected readonly options: RunnerOptions<TOutput>

  constructor(options: RunnerOptions<TOutput> = {}) {
    validateRunnerOptions(options)
    this.options = options
    this.name = options.name ?? this.constructor.name
    this.activity = options.activity
      ? isTracker(options.activity)
        ? options.activity
        : createActivityTracker({ store: options.activity })
      : createActivityTracker()
    this.prompts = { ...defaultPrompts, ...options.prompts }
  }

  /** Framework-native tools. The base offers the neutral `report_status`; adapters override it with their framework's shape. */
  get tools(): { reportStatus: TReportStatus } {
    return { reportStatus: reportStatusTool as unknown as TReportStatus }
  }

  /**
   * What this runner can do (all true in the base class). A subclass whose framework cannot do
   * something overrides this getter; the matching call then throws `CapabilityUnsupportedError`.
   */
  get capabilities(): RunnerCapabilities {
    return { streaming: true, maxTurnsRecovery: true, toolHooks: true, durable: false }
  }

  /** Runs the agent to completion. Rejects with the run's error; the activity is never left running. */
  run(agent: TAgent, input: TInput, options?: RunOptions<TOutput>): Promise<RunResult<TOutput>> {
    return this.#run(agent, input, options)
  }

  /** Runs the agent and streams its events. The run starts at once; see `RunStream`. */
  runStreamed(agent: TAgent, input: TInput, options?: RunOptions<TOutput>): RunStream<TOutput> {
    if (!this.capabilities.streaming) {
      throw new CapabilityUnsupportedError('streaming', `${this.name} cannot stream; use run() instead.`)
    }
    return this.#start(agent, input, options, true)
  }

  /**
   * Continues the unfinished run `agentId` from its checkpoint, in this process: a run that waits
   * for decisions (give them in `options.decisions`, or record them first with `approve`, `deny`,
   * `respond`), or one whose process stopped mid-run (its activity still `running`: make sure that
   * process is gone). Journaled tool calls are not executed again. Refused up front with
   * `RunNotResumableError` (unknown or finished run, undecided requests, an expired wait, a
   * checkpoint of another runner) and `CapabilityUnsupportedError` when the runner is not durable.
   */
  resume(agent: TAgent, agentId: string, options: ResumeOptions<TOutput> = {}): Promise<RunResult<TOutput>> {
    return this.#run(agent, undefined as TInput, { ...options, agentId }, options.decisions ?? {})
  }

  /** `resume`, streamed. */
  resumeStreamed(agent: TAgent, agentId: string, options: ResumeOptions<TOutput> = {}): RunStream<TOutput> {
    if (!this.capabilities.streaming) {
      throw new CapabilityUnsupportedError('streaming', `${this.name} cannot stream; use resume() instead.`)
    }
    return this.#start(agent, undefined as TInput, { ...options, agentId }, true, options.decisions ?? {})
  }

  /**
   * Approves a pending tool call of a waiting run (optionally with edited `input`), from any
   * process; the run continues when it is resumed. Refused with `DecisionError` (nothing changes)
   * when the call is not pending.
   */
  approve(
    agentId: string,
    toolCallId: string,
    options: { input?: unknown; reason?: string; by?: string } = {},
  ): Promise<RunRecord> {
    return decide(this.activity, agentId, toolCallId, {
      type: 'approve',
      ...(options as object),
    } as DecisionInput)
  }

  /** Denies a pending tool call: the model reads `Tool call denied: <reason>` when the run resumes. */
  deny(
    agentId: string,
    toolCallId: string,
    options: { reason?: string; by?: string } = {},
  ): Promise<RunRecord> {
    return decide(this.activity, agentId, toolCallId, { type: 'deny', ...options })
  }

  /** Answers a custom suspension (`context.suspend`) with `value`. */
  respond(
    agentId: string,
    requestId: string,
    value: unknown,
    options: { by?: string } = {},
  ): Promise<RunRecord> {
    return decide(this.activity, agentId, requestId, {
      type: 'respond',
      value: value as JsonValue,
      ...options,
    })
  }

  /** Runs one attempt with the framework. Honour `context.signal`; report through `context`. */
  protected abstract execute(
    context: RunContext,
    agent: TAgent,
    input: TInput,
  ): Promise<ExecuteResult<TOutput>>

  /**
   * Whether a failed attempt is worth retrying (when `retry.attempts` allows). Default: HTTP 408,
   * 409, 429, >= 500 and network errors. Adapters override it with their SDK's error classes.
   */
  protected isRetryable(error: unknown): boolean {
    return isTransientError(error)
  }

  /**
   * Checks the agent and the input before anything starts; throw `InvalidOptionsError` (see
   * `parseOrThrow`) to refuse them. A refused run creates no activity and is never retried.
   * Default: accepts everything.
   */
  protected validate(_agent: TAgent, _input: TInput): void {}

  /** The agentType of a run that does not name one. Default: the runner's name. */
  protected agentTypeOf(_agent: TAgent): string {
    return this.name
  }

  /** Releases what a run held; called once at the end of every run, whatever the outcome. */
  protected async postRun(_context: RunContext | undefined): Promise<void> {}

  /**
   * How this runner's framework messages carry a session (`RunOptions.session`): what goes before
   * a run's input, and the conversation of a complete run, as JSON. Default: none (a run with
   * `session` is refused with `CapabilityUnsupportedError`).
   */
  protected get sessions(): SessionCodec<TInput, TOutput> | undefined {
    return undefined
  }

  /** The lifecycle's view of this runner (see `executorOf`). */
  [executorKey](): Executor<TAgent, TInput, TOutput> {
    this.#executor ??= this.#makeExecutor()
    return this.#executor
  }

  #executor: Executor<TAgent, TInput, TOutput> | undefined

  #makeExecutor(): Executor<TAgent, TInput, TOutput> {
    const runner = this
    return {
      name: runner.name,
      activity: runner.activity,
      prompts: runner.prompts,
      defaults: runner.options,
      get capabilities() {
        return runner.capabilities
      },
      validate: (agent, input) => runner.validate(agent, input),
      agentTypeOf: (agent) => runner.agentTypeOf(agent),
      isRetryable: (error) => runner.isRetryable(error),
      execute: (context, agent, input) => runner.execute(context, agent, input),
      postRun: (context) => runner.postRun(context),
      get sessions() {
        return runner.sessions
      },
    }
  }

  /**
   * A run without a stream (`run`, `resume`): no reader can stop it and nobody reads its events,
   * so it has no cancel signal of its own (only the caller's `signal` and `timeoutMs`) and its
   * events go nowhere.
   */
  #run(
    agent: TAgent,
    input: TInput,
    options: RunOptions<TOutput> | undefined,
    resume?: Record<string, DecisionInput>,
  ): Promise<RunResult<TOutput>> {
    const given = options?.agentId
    const generatedId = !(typeof given === 'string' && given !== '')
    const start: RunStart<TOutput> = {
      agentId: generatedId ? randomId() : (given as string),
      generatedId,
      streaming: false,
    }
    if (resume) start.resume = { decisions: resume }
    return runLifecycle(this[executorKey](), agent, input, options, start)
  }

  #start(
    agent: TAgent,
    input: TInput,
    options: RunOptions<TOutput> | undefined,
    streaming: boolean,
    resume?: Record<string, DecisionInput>,
  ): RunStream<TOutput> {
    const controller = new AbortController()
    const given = options?.agentId
    const generatedId = !(typeof given === 'string' && given !== '')
    const agentId = generatedId ? randomId() : (given as string)
    const executor = this[executorKey]()
    return new RunStream<TOutput>({
      agentId,
      buffer: streaming,
      abort: (reason) => {
        if (!controller.signal.aborted) controller.abort(toCanceled(reason))
      },
      start: (push) =>
        runLifecycle(executor, agent, input, options, {
          agentId,
          generatedId,
          signal: controller.signal,
          streaming,
          push,
          ...(resume ? { resume: { decisions: resume } } : {}),
        }),
    })
  }
}
