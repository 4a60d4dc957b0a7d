import type {
  CheckpointInput,
  Decision,
  JournalEntry,
  JsonValue,
  PendingRequestInput,
  Usage,
} from '../activity/types.js'
import {
  BudgetExceededError,
  budgetReachedMessage,
  type SharedBudgetInfo,
} from '../errors/budget-exceeded-error.js'
import { CapabilityUnsupportedError } from '../errors/capability-unsupported-error.js'
import { MaxTurnsExceededError } from '../errors/max-turns-exceeded-error.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import type { RunnerPrompts } from '../prompts.js'
import type { AdapterEvent } from '../runner/events.js'
import type { RunHooks } from '../runner/hooks.js'
import type { HookFirer, ResumeState, RunContext, StepInput, TurnInfo } from '../runner/types.js'
import { abortReason, neverAborted } from '../util/abort.js'
import { errorMessage } from '../util/error-message.js'
import { RunSuspension } from './durable.js'
import { prepareCatalog, priceCall } from './pricing.js'
import type { TokenSlot } from './rate-limit.js'
import { retryAfterMs } from './retry-policy.js'
import { addCost, addUsage, emptyUsage, jsonOrUndefined, type RunState } from './run-state.js'
import { type SharedBudgetUse, sharedBudgetReached } from './shared-budget.js'

/** A budget limit found reached before a model call: the run's own, or a shared budget's. */
interface ReachedBudget {
  budget: 'maxTokens' | 'maxCostUsd'
  limit: number
  spent: number
  shared?: SharedBudgetInfo
}

/** The shared budgets of a run's `budget.shared`, as a list. */
function sharedUses(run: RunState<unknown>): SharedBudgetUse[] {
  const shared = run.options.budget?.shared
  return shared === undefined ? [] : Array.isArray(shared) ? shared : [shared]
}

/** The lifecycle's attempt of a context it made, if it made it (a fallback hands over through it). */
export function attemptOf(context: RunContext): AttemptContext<unknown> | undefined {
  return context instanceof AttemptContext ? (context as AttemptContext<unknown>) : undefined
}

/** The reason the signal of an attempt that ended (successfully) aborts with: one object, no stack to capture per run. */
const attemptEnded = new RunCanceledError('The attempt ended.')

/**
 * The `RunContext` of one attempt. Its signal follows the run's (cancel, timeout, a consumer that
 * stopped) and also aborts when the attempt fails from inside (`fail`, a hook that threw) or ends.
 * What a run that does not use it never needs (the signal, the hook firer) is made on first use:
 * the lifecycle costs little around a framework that does little.
 */
export class AttemptContext<TOutput> implements RunContext {
  wrappingUp = false
  /** Whether this attempt reached `maxTurns` and went on in the wrap-up turns of `maxTurnsRecovery`. */
  turnLimitReached = false
  readonly #run: RunState<TOutput>
  #controller: AbortController | undefined
  /** The listener on the run's signal (at most one per attempt; none on a signal that never aborts). */
  #onRunAbort: (() => void) | undefined
  #hooks: HookFirer | undefined
  /** The lifecycle waiting for this attempt (`race`): failed at once when the attempt fails from inside. */
  #waiting: { reject(error: unknown): void } | undefined
  #failure: { error: unknown } | undefined
  #turnUsage: Usage | undefined
  #modelCallStarted = 0
  /** When the model call in flight sent its first text or reasoning delta (0: not yet). */
  #firstChunkAt = 0
  /** The model and provider `modelCallStart` named, for the call's end. */
  #callModel: string | undefined
  #callProvider: string | undefined
  /** The token slot the call in flight took from the runner's `rateLimiter`, to correct after it. */
  #tokenSlot: TokenSlot | undefined
  /** Input and output tokens of the run's last call: the next call's estimate for `tokensPerMinute`. */
  #lastCallTokens = 0
  /** Whether the call in flight took its request slot already (in `modelCallStart`). */
  #slotTaken = false
  /** Text and reasoning deltas the reader has been sent during this attempt. */
  #shown = 0
  /** A checkpoint to save with the next journaled tool call (`withNextToolResult`). */
  #pendingCheckpoint: CheckpointInput | undefined
  /** A shared budget found reached when the last call was charged (for `nextTurn`, which cannot wait). */
  #sharedReached: ReachedBudget | undefined
  /** Whether the last response of the model call in flight came from a response cache. */
  #cachedCall = false

  /** Whether the run's signal aborted (kept by the listener: `emit` checks it for every event). */
  #runAborted: boolean

  constructor(run: RunState<TOutput>) {
    this.#run = run
    this.#runAborted = run.signal.aborted
    if (!this.#runAborted) this.#listenToRun()
  }

  /**
   * Runs `work` (the attempt's `execute`) and settles with it, or rejects as soon as the run's
   * signal aborts or the attempt fails from inside, whatever `work` does.
   */
  race<T>(work: Promise<T>): Promise<T> {
    const { signal } = this.#run
    if (this.#failure || signal.aborted) {
      work.catch(() => {})
      return Promise.reject(this.#failure ? this.#failure.error : abortReason(signal))
    }
    const waiting = Promise.withResolvers<T>()
    this.#waiting = waiting
    this.#listenToRun()
    // Whichever settles it first wins: `work`, a failure from inside, or the run's signal.
    work.then(waiting.resolve, waiting.reject)
    return waiting.promise
  }

  /**
   * Listens to the run's signal once for the attempt (its signal and `race` both follow it); not
   * at all when the run's signal never aborts. Released by `close`.
   */
  #listenToRun(): void {
    const runSignal = this.#run.signal
    if (this.#onRunAbort || runSignal === neverAborted) return
    this.#onRunAbort = () => {
      this.#runAborted = true
      const reason = abortReason(runSignal)
      this.#waiting?.reject(reason)
      this.#waiting = undefined
      this.#controller?.abort(reason)
    }
    runSignal.addEventListener('abort', this.#onRunAbort, { once: true })
  }

  get hooks(): HookFirer {
    this.#hooks ??= this.#makeHooks()
    return this.#hooks
  }

  #makeHooks(): HookFirer {
    const run = this.#run
    const context = this
    return {
      async modelCallStart(event) {
        context.#callModel = event.model
        context.#callProvider = event.provider
        if (run.rateLimiter) {
          await context.#takeSlot(event.request)
          context.#slotTaken = true
        }
        context.#modelCallStarted = performance.now()
        context.#firstChunkAt = 0
        prepareCatalog(event.model, event.provider, run.prices)
        if (!run.hasHook('onModelCallStart')) return
        await run.fire('onModelCallStart', () => {
          const hookEvent: { request: unknown; model?: string; provider?: string } = {
            ...run.info(),
            request: event.request,
          }
          if (event.model !== undefined) hookEvent.model = event.model
          if (event.provider !== undefined) hookEvent.provider = event.provider
          return hookEvent as Parameters<NonNullable<RunHooks['onModelCallStart']>>[0]
        })
      },
      async modelCallEnd(event) {
        const started = context.#modelCallStarted
        const end = performance.now()
        const durationMs = started ? Math.round(end - started) : 0
        const timeToFirstChunkMs =
          started && context.#firstChunkAt ? Math.round(context.#firstChunkAt - started) : undefined
        const model = event.model ?? context.#callModel
        const provider = event.provider ?? context.#callProvider
        context.#modelCallStarted = 0
        context.#firstChunkAt = 0
        context.#callModel = undefined
        context.#callProvider = undefined
        context.#slotTaken = false
        const cached = context.#cachedCall
        context.#cachedCall = false
        const slot = context.#tokenSlot
        context.#tokenSlot = undefined
        if (event.usage) {
          const used = (event.usage.inputTokens ?? 0) + (event.usage.outputTokens ?? 0)
          if (used > 0) context.#lastCallTokens = used
          // Never waited for: the next calls see the corrected count.
          if (slot && used > 0) run.rateLimiter?.correct(slot, used).catch(() => {})
        }
        let usage = event.usage
        // A cached answer cost nothing this time: priced at 0, whatever its tokens.
        if (usage && cached) usage = { ...usage, costUsd: 0 }
        else if (usage && model !== undefined) {
          const priced = priceCall(usage, model, provider, run.prices)
          const costUsd = typeof priced === 'object' ? await priced : priced
          if (costUsd !== undefined) {
            usage = { ...usage, costUsd }
            context.#addCost(costUsd)
          }
        }
        if (usage && usage.costUsd === undefined) await context.#noteUnpriced(model)
        // A cached answer spent nothing at the provider: shared budgets are not charged for it.
        if (usage && !cached) await context.#chargeShared(usage)
        const toolCalls = event.toolCalls ?? []
        if (run.options.recordTrajectory) {
          const data: Record<string, unknown> = { text: event.text, toolCalls, usage }
          if (model !== undefined) data.model = model
          if (provider !== undefined) data.provider = provider
          if (event.finishReasons !== undefined) data.finishReasons = event.finishReasons
          if (timeToFirstChunkMs !== undefined) data.timeToFirstChunkMs = timeToFirstChunkMs
          if (cached) data.cached = true
          data.response = event.response
          // One JSON copy of the whole step; a response JSON cannot hold is left out, the rest kept.
          let copy = jsonOrUndefined(data)
          if (copy === undefined)
            copy = jsonOrUndefined({ ...data, response: jsonOrUndefined(event.response) })
          run.recordCopiedStep('model-call', copy, durationMs)
        }
        if (!run.hasHook('onModelCallEnd')) return
        await run.fire('onModelCallEnd', () => {
          const hookEvent: Parameters<NonNullable<RunHooks['onModelCallEnd']>>[0] = {
            ...run.info(),
            response: event.response,
            text: event.text,
            toolCalls,
            durationMs,
          }
          if (usage) hookEvent.usage = usage
          if (model !== undefined) hookEvent.model = model
          if (provider !== undefined) hookEvent.provider = provider
          if (event.finishReasons !== undefined) hookEvent.finishReasons = event.finishReasons
          if (timeToFirstChunkMs !== undefined) hookEvent.timeToFirstChunkMs = timeToFirstChunkMs
          if (cached) hookEvent.cached = true
          return hookEvent
        })
      },
      async toolCallStart(call) {
        const decision = await run.decideToolCall(call)
        return 'deny' in decision ? { denied: decision.deny } : { input: decision.input }
      },
      async toolCallEnd(event) {
        run.recordStep({
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
        if (run.hasHook('onToolCallEnd')) await run.fire('onToolCallEnd', () => ({ ...run.info(), ...event }))
      },
    }
  }

  get agentId(): string {
    return this.#run.agentId
  }
  get agentType(): string {
    return this.#run.agentType
  }
  get attempt(): number {
    return this.#run.execution.attempt
  }
  get turn(): number {
    return this.#run.turn
  }
  get maxTurns(): number {
    return this.#run.options.maxTurns
  }
  get maxTurnsRecovery(): boolean {
    return this.#run.options.maxTurnsRecovery
  }
  get recoveryTurns(): number {
    return this.#run.options.recoveryTurns
  }
  get timeoutMs(): number | undefined {
    return this.#run.options.timeoutMs
  }
  get signal(): AbortSignal {
    return this.#signalController().signal
  }

  /** The controller of the attempt's signal, made on first use and linked to the run's signal. */
  #signalController(): AbortController {
    if (this.#controller) return this.#controller
    const controller = new AbortController()
    this.#controller = controller
    const runSignal = this.#run.signal
    if (this.#failure) controller.abort(this.#failure.error)
    else if (runSignal.aborted) controller.abort(abortReason(runSignal))
    else this.#listenToRun()
    return controller
  }

  /** Whether the attempt is over or failing: its signal aborted, or the run's. */
  #stopped(): boolean {
    return this.#failure !== undefined || this.#runAborted || this.#controller?.signal.aborted === true
  }
  get streaming(): boolean {
    return this.#run.streaming
  }
  get includeNative(): boolean {
    return this.#run.options.includeNative
  }
  get metadata(): Readonly<Record<string, unknown>> {
    return this.#run.options.metadata
  }
  get prompts(): RunnerPrompts {
    return this.#run.prompts
  }
  /** Whether the reader has been sent text or reasoning of this attempt (it is then never restarted). */
  get outputShown(): boolean {
    return this.#shown > 0
  }

  async report(message: string, percentage?: number): Promise<void> {
    await this.#run.execution.report(message, percentage)
    this.#run.recordStep({ kind: 'status', data: { message, percentage: percentage ?? null } })
  }

  emit(event: AdapterEvent): void {
    if (event.type === 'native' && !this.includeNative) return
    if (this.#stopped()) return
    if (this.#run.streaming && (event.type === 'text-delta' || event.type === 'reasoning-delta')) {
      this.#shown++
      if (this.#modelCallStarted && !this.#firstChunkAt) this.#firstChunkAt = performance.now()
    }
    this.#run.push(event)
  }

  recordStep(step: StepInput): void {
    this.#run.recordStep(step)
  }

  addUsage(usage: Partial<Usage>): void {
    addUsage(this.#run.usage, usage)
    if (this.#turnUsage) addUsage(this.#turnUsage, usage)
  }

  /** Adds a priced call's cost to the run's usage and the turn's. */
  #addCost(costUsd: number): void {
    addCost(this.#run.usage, costUsd)
    if (this.#turnUsage) addCost(this.#turnUsage, costUsd)
  }

  fail(error: unknown): void {
    if (this.#stopped()) return
    this.#failure = { error }
    if (this.#controller) this.#controller.abort(error)
    const waiting = this.#waiting
    this.#waiting = undefined
    waiting?.reject(error)
  }

  /**
   * Adds a call's usage to the run's shared budgets; remembers one found reached. A budget that
   * cannot be charged (Redis down) is said on the activity; the run goes on.
   */
  async #chargeShared(usage: Usage): Promise<void> {
    const uses = sharedUses(this.#run as RunState<unknown>)
    if (uses.length === 0) return
    const tokens = usage.totalTokens || (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0)
    const charged = { tokens, costUsd: usage.costUsd ?? 0 }
    for (const use of uses) {
      try {
        const spent = await use.budget.charge(use.key, charged)
        const reached = sharedBudgetReached(use.budget, spent)
        if (reached && !this.#sharedReached) this.#sharedReached = sharedReachedOf(use, reached)
      } catch (error) {
        await this.#run.execution.note(
          `Could not charge shared budget ${use.budget.name} for ${JSON.stringify(use.key)}: ${errorMessage(error)}`,
          'lifecycle',
        )
      }
    }
  }

  /** The first shared budget whose key has reached a limit, asked of each budget now. */
  async #sharedBudgetReached(): Promise<ReachedBudget | undefined> {
    const uses = sharedUses(this.#run as RunState<unknown>)
    this.#sharedReached = undefined
    for (const use of uses) {
      const reached = await use.budget.reached(use.key)
      if (reached) {
        this.#sharedReached = sharedReachedOf(use, reached)
        return this.#sharedReached
      }
    }
    return undefined
  }

  /** The budget limit the run's usage has reached, if any (tokens first, then cost). */
  #budgetReached(): ReachedBudget | undefined {
    const budget = this.#run.options.budget
    if (!budget) return undefined
    const { totalTokens, costUsd = 0 } = this.#run.usage
    if (budget.maxTokens !== undefined && totalTokens >= budget.maxTokens)
      return { budget: 'maxTokens', limit: budget.maxTokens, spent: totalTokens }
    if (budget.maxCostUsd !== undefined && costUsd >= budget.maxCostUsd)
      return { budget: 'maxCostUsd', limit: budget.maxCostUsd, spent: costUsd }
    return undefined
  }

  /** Whether a reached budget grants its one wrap-up call (`onExceeded: 'wrap-up'`, not yet made). */
  #budgetWrapUpLeft(): boolean {
    return this.#run.options.budget?.onExceeded === 'wrap-up' && !this.#run.budgetWrappedUp
  }

  /**
   * The turn of a run whose budget is reached: its wrap-up call (once), or `BudgetExceededError`.
   * Either way the activity, the stream and the trajectory say which limit and what was spent.
   */
  async #budgetTurn(reached: ReachedBudget) {
    const run = this.#run
    const message = budgetReachedMessage(reached.budget, reached.limit, reached.spent, reached.shared)
    const wrapUp = this.#budgetWrapUpLeft()
    await run.execution.note(wrapUp ? `${message}; asking the agent to wrap up` : message, 'lifecycle')
    run.recordStep({
      kind: 'note',
      data: {
        message: `${reached.shared ? `shared budget ${reached.shared.name}` : 'budget'}.${reached.budget} reached${wrapUp ? ': wrap-up call' : ''}`,
        ...reached,
      },
    })
    if (!wrapUp) {
      const error = new BudgetExceededError(
        reached.budget,
        reached.limit,
        reached.spent,
        reached.shared ? { shared: reached.shared } : {},
      )
      this.fail(error)
      throw error
    }
    run.budgetWrappedUp = true
    this.wrappingUp = true
    return this.#beginTurn({ turn: run.turn + 1, wrapUp: true })
  }

  /** Tells the activity once per run that calls without a price count as $0 against `budget.maxCostUsd`. */
  async #noteUnpriced(model: string | undefined): Promise<void> {
    const run = this.#run
    if (run.options.budget?.maxCostUsd === undefined || run.budgetUnpricedNoted) return
    run.budgetUnpricedNoted = true
    const which = model === undefined ? 'A model call names no model' : `Model "${model}" has no price`
    await run.execution.note(
      `${which}: its calls count as $0 against budget.maxCostUsd. Give its price in the runner's prices.`,
      'lifecycle',
    )
  }

  nextTurn(): TurnInfo | undefined {
    // A reached budget shows here only as its wrap-up call; otherwise `startTurn` throws
    // `BudgetExceededError` itself, so that no adapter mistakes it for the turn limit.
    if (this.#budgetWrapUpLeft() && (this.#budgetReached() || this.#sharedReached))
      return { turn: this.#run.turn + 1, wrapUp: true }
    const { maxTurns, maxTurnsRecovery, recoveryTurns } = this.#run.options
    const next = this.#run.turn + 1
    if (next <= maxTurns) return { turn: next, wrapUp: this.wrappingUp }
    if (!maxTurnsRecovery || next > maxTurns + recoveryTurns) return undefined
    return { turn: next, wrapUp: true }
  }

  async startTurn(): Promise<TurnInfo> {
    if (this.#turnUsage) this.endTurn()
    // A wrap-up call is made whatever the budgets say; any other call asks the shared ones first.
    const reached =
      this.#budgetReached() ??
      (this.#run.budgetWrappedUp || !this.#run.options.budget?.shared
        ? undefined
        : await this.#sharedBudgetReached())
    if (reached) return this.#budgetTurn(reached)
    const next = this.nextTurn()
    if (!next) {
      const error = new MaxTurnsExceededError(this.maxTurns)
      this.fail(error)
      throw error
    }
    if (next.wrapUp && !this.wrappingUp) {
      this.wrappingUp = true
      this.turnLimitReached = true
      await this.#run.execution.note(
        `Reached the turn limit (${this.maxTurns}); asking the agent to wrap up`,
        'lifecycle',
      )
      this.#run.recordStep({
        kind: 'note',
        data: { message: 'maxTurns reached: wrap-up turns begin', maxTurns: this.maxTurns },
      })
    }
    return this.#beginTurn(next)
  }

  /** Counts the turn, opens its usage and emits `turn-start`. */
  #beginTurn(next: TurnInfo): TurnInfo {
    this.#run.turn = next.turn
    this.#turnUsage = emptyUsage()
    if (this.#run.emits)
      this.#run.push({ type: 'turn-start', turn: next.turn, attempt: this.attempt, wrapUp: next.wrapUp })
    return next
  }

  endTurn(): void {
    if (!this.#turnUsage) return
    const usage = this.#turnUsage
    this.#turnUsage = undefined
    if (this.#run.emits) this.#run.push({ type: 'turn-end', turn: this.#run.turn, usage })
  }

  /**
   * Waits for the call's slot in the runner's `rateLimiter` (abortably: cancel and timeout end the
   * wait), telling the activity once when it has to wait.
   */
  async #takeSlot(request: unknown): Promise<void> {
    const run = this.#run
    const limiter = run.rateLimiter
    if (!limiter) return
    let waited: { key: string; limit: string; since: number } | undefined
    this.#tokenSlot = await limiter.acquire(
      {
        model: this.#callModel,
        provider: this.#callProvider,
        estimatedTokens: this.#lastCallTokens || estimateTokens(request),
      },
      this.signal,
      ({ key, limit }) => {
        waited = { key, limit, since: performance.now() }
        return run.noteWait(`Waiting for rate limit (${key}: ${limit})`, { reason: 'rate-limit', key, limit })
      },
    )
    if (waited) {
      const seconds = ((performance.now() - waited.since) / 1000).toFixed(1)
      await run.execution.note(
        `Rate limit slot taken after ${seconds} s (${waited.key}: ${waited.limit})`,
        'lifecycle',
      )
    }
  }

  async modelRequest<T>(send: () => PromiseLike<T>): Promise<T> {
    for (;;) {
      const shownBefore = this.#shown
      try {
        // A repeated request takes a slot again (the first took it in `modelCallStart`).
        if (!this.#slotTaken && this.#run.rateLimiter) await this.#takeSlot(undefined)
        this.#slotTaken = false
        return await send()
      } catch (error) {
        if (this.#stopped()) throw this.#failure ? this.#failure.error : abortReason(this.signal)
        // Never repeat what the reader already saw: the attempt fails instead.
        if (this.#shown !== shownBefore) throw error
        const run = this.#run
        await this.#pauseKey(error)
        const again = await run.execution.retry(error, run.policy, this.signal, (plan) =>
          run.announceRetry(error, plan, false),
        )
        if (!again) throw error
        run.attempts++
      }
    }
  }

  /** A 429 with `Retry-After` pauses its key for every run sharing the runner's `rateLimiter`. */
  async #pauseKey(error: unknown): Promise<void> {
    const limiter = this.#run.rateLimiter
    if (!limiter || typeof error !== 'object' || error === null) return
    const { status, statusCode } = error as { status?: unknown; statusCode?: unknown }
    if (status !== 429 && statusCode !== 429) return
    const ms = retryAfterMs(error)
    if (ms === undefined || ms <= 0) return
    await limiter.block({ model: this.#callModel, provider: this.#callProvider }, ms).catch(() => undefined)
  }

  /**
   * Marks the model call in flight as answered from a response cache (`cached`), or by the
   * provider (a later request of the same call that went out): the last one counts.
   */
  markModelCallCached(cached: boolean): void {
    this.#cachedCall = cached
  }

  get durable(): boolean {
    return this.#run.options.durable
  }

  get resumed(): ResumeState | undefined {
    return this.#run.resume?.state
  }

  async checkpoint(state: JsonValue, options: { withNextToolResult?: boolean } = {}): Promise<void> {
    const run = this.#run
    if (!run.options.durable) return
    const checkpoint: CheckpointInput = {
      state,
      runner: run.runner,
      turn: run.turn,
      usage: { ...run.usage },
      attempt: Math.max(1, run.execution.attempt),
    }
    if (options.withNextToolResult) {
      this.#pendingCheckpoint = checkpoint
      return
    }
    this.#pendingCheckpoint = undefined
    await run.execution.tracker.store.saveCheckpoint(run.agentId, checkpoint)
  }

  journaled(toolCallId: string): JournalEntry | undefined {
    return this.#run.journaled(toolCallId)
  }

  async journal(entry: Omit<JournalEntry, 'at' | 'attempt'>): Promise<void> {
    const run = this.#run
    if (!run.options.durable) return
    const attempt = Math.max(1, run.execution.attempt)
    // The checkpoint of the answer these tools belong to goes with the first of them.
    const checkpoint = this.#pendingCheckpoint
    this.#pendingCheckpoint = undefined
    await run.execution.tracker.store.recordToolCall(
      run.agentId,
      { ...entry, attempt },
      checkpoint ? { checkpoint } : undefined,
    )
    if (!run.journal.has(entry.toolCallId))
      run.journal.set(entry.toolCallId, { ...entry, attempt, at: new Date().toISOString() })
  }

  idempotencyKey(toolCallId: string): string {
    return `${this.#run.agentId}:${toolCallId}`
  }

  async suspend(requests: PendingRequestInput[], state: JsonValue): Promise<never> {
    if (!this.#run.options.durable) {
      throw new CapabilityUnsupportedError(
        'durable',
        'this run is not durable (its runner cannot resume, or durable: false), so it cannot wait for a decision. Remove needsApproval or run it durably.',
      )
    }
    throw new RunSuspension(requests, state)
  }

  decision(requestId: string): Decision | undefined {
    return this.#run.resume?.state.pending.find((request) => request.id === requestId)?.decision
  }

  /**
   * Another runner takes over the attempt (`withFallback`): logs `message` (kind `fallback`) and
   * starts counting turns again.
   */
  async handOver(message: string): Promise<void> {
    await this.#run.execution.note(message, 'fallback')
    this.endTurn()
    this.#run.turn = 0
    this.wrappingUp = false
    this.turnLimitReached = false
  }

  /**
   * Ends the attempt: its signal aborts (work left running stops) with `reason` (an attempt that
   * succeeded: a shared "attempt ended" cancel), its listener on the run's signal is released.
   */
  close(reason: unknown = attemptEnded): void {
    if (this.#onRunAbort) {
      this.#run.signal.removeEventListener('abort', this.#onRunAbort)
      this.#onRunAbort = undefined
    }
    if (this.#controller && !this.#controller.signal.aborted) this.#controller.abort(reason)
    this.#failure ??= { error: reason }
    this.#waiting = undefined
  }
}

/** What a request without a previous call to go by is guessed to cost: 4 characters of its JSON a token. */
function estimateTokens(request: unknown): number {
  if (request === undefined) return 1
  try {
    return Math.max(1, Math.ceil((JSON.stringify(request)?.length ?? 4) / 4))
  } catch {
    return 1
  }
}

/** A shared budget's reached limit as the run reports it. */
function sharedReachedOf(
  use: SharedBudgetUse,
  reached: { budget: 'maxTokens' | 'maxCostUsd'; limit: number; spent: number; resetsAt: number },
): ReachedBudget {
  return {
    budget: reached.budget,
    limit: reached.limit,
    spent: reached.spent,
    shared: {
      name: use.budget.name,
      key: use.key,
      per: use.budget.per,
      resetsAt: new Date(reached.resetsAt).toISOString(),
    },
  }
}
