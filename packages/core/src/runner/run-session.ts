import { nowIso } from '../activity/store-helpers.js'
import type { ActivityTracker } from '../activity/tracker.js'
import type { Activity, Trajectory, TrajectoryStep, Usage } from '../activity/types.js'
import { MaxTurnsExceededError } from '../errors/max-turns-exceeded-error.js'
import type { RunnerPrompts } from '../prompts.js'
import type { AdapterEvent, RunEvent } from './events.js'
import { fireHook, type HookName, type HookRunInfo, type RunHooks, type ToolCallInfo } from './hooks.js'
import type { HookFirer, ResolvedRunOptions, RunContext, StepInput, TurnInfo } from './types.js'

/** Errors thrown by user hooks: they fail the run and are never retried. */
export const hookErrors = new WeakSet<object>()

/** Sums token counts; optional counters stay absent until some call reports them. */
export function addUsage(total: Usage, usage: Partial<Usage>): void {
  const input = usage.inputTokens ?? 0
  const output = usage.outputTokens ?? 0
  total.inputTokens += input
  total.outputTokens += output
  total.totalTokens += usage.totalTokens ?? input + output
  if (usage.cachedInputTokens !== undefined)
    total.cachedInputTokens = (total.cachedInputTokens ?? 0) + usage.cachedInputTokens
  if (usage.reasoningTokens !== undefined)
    total.reasoningTokens = (total.reasoningTokens ?? 0) + usage.reasoningTokens
}

export function emptyUsage(): Usage {
  return { inputTokens: 0, outputTokens: 0, totalTokens: 0 }
}

/** A JSON copy of `value`, or `undefined` when it cannot be serialised (trajectories hold JSON only). */
function jsonOrUndefined(value: unknown): unknown {
  if (value === undefined) return undefined
  try {
    const text = JSON.stringify(value)
    return text === undefined ? undefined : JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * The state of one run across its attempts: activity updates, events, hooks, usage and the
 * trajectory. Internal to `BaseAgentRunner`; adapters see it through `RunContext`.
 */
export class RunSession<TOutput> {
  readonly usage = emptyUsage()
  readonly steps: TrajectoryStep[] = []
  readonly startedAt = nowIso()
  attempt = 0
  turn = 0
  readonly #hookSets: ReadonlyArray<RunHooks | undefined>

  constructor(
    readonly agentId: string,
    readonly agentType: string,
    readonly options: ResolvedRunOptions<TOutput>,
    readonly tracker: ActivityTracker,
    readonly prompts: RunnerPrompts,
    readonly signal: AbortSignal,
    readonly streaming: boolean,
    readonly push: (event: RunEvent<TOutput>) => void,
    runnerHooks: RunHooks<TOutput> | undefined,
  ) {
    this.#hookSets = [runnerHooks as RunHooks | undefined, options.hooks as RunHooks | undefined]
  }

  info(): HookRunInfo {
    return {
      agentId: this.agentId,
      agentType: this.agentType,
      attempt: this.attempt,
      turn: this.turn,
      metadata: this.options.metadata,
    }
  }

  /** Fires a hook of the runner, then of the run. A throwing hook's error is marked as such. */
  async fire<K extends HookName>(name: K, event: Parameters<NonNullable<RunHooks[K]>>[0]): Promise<void> {
    try {
      await fireHook(this.#hookSets, name, event)
    } catch (error) {
      if (typeof error === 'object' && error !== null) hookErrors.add(error)
      throw error
    }
  }

  /** Applies one activity change, then tells the stream and the hooks. */
  async changeStatus(
    change: () => Promise<Activity>,
    options: { hookErrors?: 'throw' | 'ignore' } = {},
  ): Promise<void> {
    const activity = await change()
    const entry = activity.log.at(-1)
    if (!entry) return
    this.push({
      type: 'status-update',
      status: entry.status,
      message: entry.message,
      percentage: entry.percentage,
    })
    const event = {
      ...this.info(),
      status: entry.status,
      message: entry.message,
      percentage: entry.percentage,
    }
    if (options.hookErrors === 'ignore') await this.fire('onStatusUpdate', event).catch(() => {})
    else await this.fire('onStatusUpdate', event)
  }

  recordStep(step: StepInput): void {
    if (!this.options.recordTrajectory) return
    const recorded: TrajectoryStep = {
      index: this.steps.length,
      kind: step.kind,
      attempt: this.attempt,
      turn: this.turn,
      at: nowIso(),
      data: (jsonOrUndefined(step.data) as Record<string, unknown> | undefined) ?? {},
    }
    if (step.durationMs !== undefined) recorded.durationMs = step.durationMs
    this.steps.push(recorded)
  }

  /** Runs `onToolCallStart` of the runner, then of the run: a denial stops, a new input passes on. */
  async decideToolCall(call: ToolCallInfo): Promise<{ deny: string } | { input: unknown }> {
    let input = call.input
    for (const hooks of this.#hookSets) {
      const hook = hooks?.onToolCallStart
      if (!hook) continue
      let decision: unknown
      try {
        decision = await hook({ ...this.info(), toolCallId: call.toolCallId, toolName: call.toolName, input })
      } catch (error) {
        if (typeof error === 'object' && error !== null) hookErrors.add(error)
        throw error
      }
      if (decision && typeof decision === 'object') {
        if ('deny' in decision) return { deny: String((decision as { deny: unknown }).deny) }
        if ('input' in decision) input = (decision as { input: unknown }).input
      }
    }
    return { input }
  }

  trajectory(status: Trajectory['status']): Trajectory {
    return {
      agentId: this.agentId,
      agentType: this.agentType,
      status,
      startedAt: this.startedAt,
      finishedAt: nowIso(),
      usage: { ...this.usage },
      steps: this.steps,
    }
  }

  /** A fresh context for the next attempt. */
  newAttempt(): AttemptContext<TOutput> {
    this.attempt += 1
    this.turn = 0
    return new AttemptContext(this)
  }
}

/** The `RunContext` of one attempt. */
export class AttemptContext<TOutput> implements RunContext {
  readonly hooks: HookFirer
  wrappingUp = false
  #turnUsage: Usage | undefined
  #modelCallStarted = 0

  constructor(readonly session: RunSession<TOutput>) {
    const context = this
    this.hooks = {
      async modelCallStart(event) {
        context.#modelCallStarted = performance.now()
        await session.fire('onModelCallStart', { ...session.info(), request: event.request })
      },
      async modelCallEnd(event) {
        const durationMs = context.#modelCallStarted
          ? Math.round(performance.now() - context.#modelCallStarted)
          : 0
        context.#modelCallStarted = 0
        const toolCalls = event.toolCalls ?? []
        session.recordStep({
          kind: 'model-call',
          durationMs,
          data: {
            text: event.text,
            toolCalls,
            usage: event.usage,
            response: jsonOrUndefined(event.response),
          },
        })
        const hookEvent = {
          ...session.info(),
          response: event.response,
          text: event.text,
          toolCalls,
          durationMs,
        }
        await session.fire('onModelCallEnd', event.usage ? { ...hookEvent, usage: event.usage } : hookEvent)
      },
      async toolCallStart(call) {
        const decision = await session.decideToolCall(call)
        return 'deny' in decision ? { denied: decision.deny } : { input: decision.input }
      },
      async toolCallEnd(event) {
        session.recordStep({
          kind: 'tool-call',
          durationMs: event.durationMs,
          data: {
            toolCallId: event.toolCallId,
            toolName: event.toolName,
            input: event.input,
            output: event.output,
            isError: event.isError,
          },
        })
        await session.fire('onToolCallEnd', { ...session.info(), ...event })
      },
    }
  }

  get agentId(): string {
    return this.session.agentId
  }
  get agentType(): string {
    return this.session.agentType
  }
  get attempt(): number {
    return this.session.attempt
  }
  get turn(): number {
    return this.session.turn
  }
  get maxTurns(): number {
    return this.session.options.maxTurns
  }
  get maxTurnsRecovery(): boolean {
    return this.session.options.maxTurnsRecovery
  }
  get recoveryTurns(): number {
    return this.session.options.recoveryTurns
  }
  get timeoutMs(): number | undefined {
    return this.session.options.timeoutMs
  }
  get signal(): AbortSignal {
    return this.session.signal
  }
  get streaming(): boolean {
    return this.session.streaming
  }
  get includeNative(): boolean {
    return this.session.options.includeNative
  }
  get metadata(): Readonly<Record<string, unknown>> {
    return this.session.options.metadata
  }
  get prompts() {
    return this.session.prompts
  }

  async report(message: string, percentage?: number): Promise<void> {
    const tracker = this.session.tracker
    await this.session.changeStatus(() =>
      tracker.update(this.agentId, message, percentage === undefined ? {} : { percentage }),
    )
    this.session.recordStep({ kind: 'status', data: { message, percentage: percentage ?? null } })
  }

  emit(event: AdapterEvent): void {
    if (event.type === 'native' && !this.includeNative) return
    this.session.push(event)
  }

  recordStep(step: StepInput): void {
    this.session.recordStep(step)
  }

  addUsage(usage: Partial<Usage>): void {
    addUsage(this.session.usage, usage)
    if (this.#turnUsage) addUsage(this.#turnUsage, usage)
  }

  async startTurn(): Promise<TurnInfo> {
    if (this.#turnUsage) this.endTurn()
    const { maxTurns, maxTurnsRecovery, recoveryTurns } = this.session.options
    const next = this.session.turn + 1
    if (next > maxTurns) {
      if (!maxTurnsRecovery || next > maxTurns + recoveryTurns) throw new MaxTurnsExceededError(maxTurns)
      if (!this.wrappingUp) {
        this.wrappingUp = true
        await this.session.changeStatus(() =>
          this.session.tracker.update(
            this.agentId,
            `Reached the turn limit (${maxTurns}); asking the agent to wrap up`,
          ),
        )
        this.session.recordStep({
          kind: 'note',
          data: { message: 'maxTurns reached: wrap-up turns begin', maxTurns },
        })
      }
    }
    this.session.turn = next
    this.#turnUsage = emptyUsage()
    this.session.push({ type: 'turn-start', turn: next, attempt: this.attempt, wrapUp: this.wrappingUp })
    return { turn: next, wrapUp: this.wrappingUp }
  }

  /** @internal Starts counting turns again (a fallback runner takes over the attempt). */
  restartTurns(): void {
    this.endTurn()
    this.session.turn = 0
    this.wrappingUp = false
  }

  endTurn(): void {
    if (!this.#turnUsage) return
    const usage = this.#turnUsage
    this.#turnUsage = undefined
    this.session.push({ type: 'turn-end', turn: this.session.turn, usage })
  }
}
