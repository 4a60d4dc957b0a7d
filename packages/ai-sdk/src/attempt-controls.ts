import { MaxTurnsExceededError, RunCanceledError, type RunContext, type ToolCallInfo } from '@runner/core'
import { errorMessage, raceAbort, type TurnInfo } from '@runner/core/adapter'
import {
  type FinishReason,
  type Instructions,
  type LanguageModelCallEndEvent,
  NoOutputGeneratedError,
  type PrepareStepFunction,
  type PrepareStepResult,
  type StepResult,
  type StopCondition,
  type ToolSet,
} from 'ai'
import { type Deferred, deferred } from './deferred.js'
import { usageOf } from './map-usage.js'
import { overridesLostError } from './overrides-lost-error.js'
import { wrapTool } from './tool-wrapper.js'
import { wrapUpMessages } from './wrap-up.js'

type Arrayable<T> = T | T[]
// biome-ignore lint/suspicious/noExplicitAny: callbacks of any tool set
type AnyCallback = (event: any) => unknown

/** What the runner knows of one attempt's agent. */
export interface AttemptControlsOptions {
  /** The instructions of wrap-up turns (the agent's own, without `prompts.reportStatus`); undefined: unchanged. */
  wrapUpInstructions: Instructions | undefined
  /**
   * Check at each step that the runner's `prepareStep` ran and its tools are the ones offered
   * (a ToolLoopAgent's `prepareCall` may replace them): refuse to go on otherwise.
   */
  checkOverrides: boolean
}

/** A model call of this attempt. */
interface StepState {
  /** Settles when the model's answer is complete (`onLanguageModelCallEnd`, or `onStepEnd` at the latest). */
  readonly modelEnded: Deferred
  /** The tool calls the model made in this step, known once its answer is complete. */
  toolCallIds: Set<string>
}

/**
 * The runner's controls over one attempt of an AI SDK tool loop (`generateText` /
 * `streamText`, or a ToolLoopAgent's `generate` / `stream`), given to the AI SDK as its own
 * options:
 * - `prepareStep` starts each turn (`context.startTurn()`, which counts it and enforces
 *   `maxTurns`), asks for the wrap-up (no tools, `prompts.wrapUp`) in the wrap-up turns of
 *   `maxTurnsRecovery`, and fires `onModelCallStart`;
 * - `stopWhen` holds the user's conditions and the turn limit (whichever comes first): at the
 *   limit, core's `startTurn` decides between a wrap-up turn and `MaxTurnsExceededError`;
 * - `onLanguageModelCallEnd` adds the call's usage (once, per call) and fires `onModelCallEnd`;
 * - each tool's `execute` is wrapped: `onToolCallStart` (deny, rewrite) and `onToolCallEnd`;
 *   `onStepEnd` reports the tool results that ran no `execute` (invalid input, unknown tool,
 *   provider-executed);
 * - in a streamed attempt, the next turn and each tool wait until the reader has read what the
 *   model said before, so that the run's events keep their order.
 *
 * The AI SDK ignores what its callbacks throw; a hook that throws here is kept (`fail`) and aborts
 * the attempt, and the runner rethrows it.
 */
export class AttemptControls {
  readonly #context: RunContext
  readonly #options: AttemptControlsOptions
  readonly #controller = new AbortController()
  readonly #unlink: () => void
  #failure: { error: unknown } | undefined
  #step: StepState | undefined
  /** A turn the stop condition already started (at the limit, with `maxTurnsRecovery`). */
  #pendingTurn: TurnInfo | undefined
  /** The `MaxTurnsExceededError` with which the stop condition ended the loop. */
  #limitError: unknown
  readonly #preparedSteps = new Set<number>()
  /** Tool calls whose end was reported (by the `execute` wrapper or `onStepEnd`). */
  readonly #endedToolCalls = new Set<string>()
  /** Streaming: tool calls and steps the reader has read. */
  readonly #readToolCalls = new Set<string>()
  #stepsRead = 0
  #wakeReader: Array<() => void> = []
  readonly #wrappedTools = new WeakSet<object>()
  #toolNames: string[] = []

  constructor(context: RunContext, options: AttemptControlsOptions) {
    this.#context = context
    this.#options = options
    const onAbort = () => this.#abort(context.signal.reason)
    if (context.signal.aborted) onAbort()
    else context.signal.addEventListener('abort', onAbort, { once: true })
    this.#unlink = () => context.signal.removeEventListener('abort', onAbort)
  }

  /** The attempt's signal (for the AI SDK's `abortSignal`): the run's, or a hook that failed. */
  get signal(): AbortSignal {
    return this.#controller.signal
  }

  /** Keeps the first error of a hook (or a broken override) and aborts the attempt with it. */
  fail(error: unknown): void {
    if (this.#failure) return
    this.#failure = { error }
    this.#abort(error)
  }

  /**
   * The error the attempt ends with, given what the AI SDK threw (or nothing): a failed hook
   * first, then the run's abort reason (cancel, timeout), then the SDK's error.
   */
  errorFor(error: unknown): unknown {
    if (this.#failure) return this.#failure.error
    if (this.#context.signal.aborted) return this.#context.signal.reason ?? new RunCanceledError()
    // The AI SDK aborted on its own (its `timeout` setting): canceled, as its stream's `abort` part.
    if (isAbortError(error)) return this.abortError(errorMessage(error))
    return error
  }

  /** The error a stream's `abort` part stands for: never a completed run. */
  abortError(reason: string | undefined): unknown {
    if (this.#failure) return this.#failure.error
    if (this.#context.signal.aborted) return this.#context.signal.reason ?? new RunCanceledError()
    const detail = reason?.replace(/\.$/, '')
    return new RunCanceledError(`The AI SDK aborted the model call${detail ? ` (${detail})` : ''}.`, {
      reason,
    })
  }

  /**
   * Checks how the loop ended, once the AI SDK returned: a failed hook or an abort is thrown; the
   * turn limit without an answer throws `MaxTurnsExceededError`; an answer that stopped on an
   * error or was interrupted is never a success.
   */
  settle(finishReason: FinishReason): void {
    if (this.#failure) throw this.#failure.error
    if (this.#context.signal.aborted) throw this.#context.signal.reason ?? new RunCanceledError()
    if (this.#limitError !== undefined) throw this.#limitError
    if (finishReason === 'error' || finishReason === 'interrupted') {
      throw new NoOutputGeneratedError({
        message:
          finishReason === 'error'
            ? 'The model call ended with an error (finishReason "error") and no error part: the answer is not usable. A new attempt may succeed.'
            : 'The model call was interrupted: the provider stream ended without its completion signal (finishReason "interrupted"), so the answer may be incomplete. A new attempt may succeed.',
      })
    }
  }

  /** Releases the link to the run's signal; aborts work the AI SDK left running after a failure. */
  close(failed: boolean): void {
    this.#unlink()
    if (failed) this.#abort(this.#failure?.error ?? new RunCanceledError('The attempt ended.'))
    this.#wake()
  }

  /**
   * `stopWhen`: the user's conditions (an agent's default included) and the turn limit, as one
   * condition, so that the limit is only asked when the user's conditions let the loop go on. At
   * the limit, core's `startTurn` decides: a wrap-up turn (`maxTurnsRecovery`, the loop goes on
   * and the next `prepareStep` takes that turn) or `MaxTurnsExceededError` (the loop stops and
   * the runner throws it).
   */
  stopWhen(user: Arrayable<StopCondition<ToolSet>> | undefined): StopCondition<ToolSet> {
    const conditions = user === undefined ? [] : Array.isArray(user) ? user : [user]
    return async (options) => {
      const results = await Promise.all(conditions.map((condition) => condition(options)))
      if (results.some(Boolean)) return true
      if (this.#context.turn < this.#context.maxTurns) return false
      try {
        await this.#untilStepsRead(this.#context.turn)
        this.#pendingTurn = await this.#context.startTurn()
        return false
      } catch (error) {
        if (!MaxTurnsExceededError.isInstance(error)) {
          this.fail(error)
          throw error
        }
        this.#limitError = error
        return true
      }
    }
  }

  /**
   * `prepareStep`: starts the turn, runs the user's `prepareStep`, turns a wrap-up turn into a
   * request without tools that asks for the final answer, and fires `onModelCallStart` with the
   * step's request. Throws (ending the loop) when `startTurn` refuses the turn or a hook throws.
   */
  prepareStep(user: PrepareStepFunction<ToolSet> | undefined): PrepareStepFunction<ToolSet> {
    return async (options) => {
      try {
        if (this.#failure) throw this.#failure.error
        let turn = this.#pendingTurn
        this.#pendingTurn = undefined
        if (!turn) {
          await this.#untilStepsRead(options.stepNumber)
          turn = await this.#context.startTurn()
        }
        this.#step = { modelEnded: deferred(), toolCallIds: new Set() }
        const fromUser = await user?.(options)
        let result: PrepareStepResult<ToolSet> = fromUser
        if (turn.wrapUp) {
          const instructions = this.#options.wrapUpInstructions
          result = {
            ...fromUser,
            activeTools: [],
            toolChoice: 'auto',
            messages: wrapUpMessages(fromUser?.messages ?? options.messages, this.#context.prompts.wrapUp),
            ...(instructions === undefined ? {} : { instructions }),
          }
        }
        await this.#context.hooks.modelCallStart({
          request: {
            stepNumber: options.stepNumber,
            model: modelInfo(result?.model ?? options.model),
            instructions: result?.instructions ?? options.instructions,
            messages: result?.messages ?? options.messages,
            tools: result?.activeTools ?? this.#toolNames,
            toolChoice: result?.toolChoice,
          },
        })
        this.#preparedSteps.add(options.stepNumber)
        return result
      } catch (error) {
        this.fail(error)
        throw error
      }
    }
  }

  /**
   * `onStepStart`: for a ToolLoopAgent, checks that its `prepareCall` kept the runner's
   * `prepareStep` and tools; the attempt is refused otherwise (the turn limit and the tool hooks
   * would not hold).
   */
  onStepStart(user: AnyCallback | undefined): AnyCallback {
    return async (event: { stepNumber: number; tools?: ToolSet }) => {
      if (this.#options.checkOverrides && !this.#failure) {
        if (!this.#preparedSteps.has(event.stepNumber)) this.fail(overridesLostError('prepareStep'))
        else if (Object.values(event.tools ?? {}).some((tool) => !this.#isWrapped(tool))) {
          this.fail(overridesLostError('tools'))
        }
      }
      await callUser(user, event)
    }
  }

  /** `onLanguageModelCallEnd`: the call's usage (once) and `onModelCallEnd`, before its tools run. */
  onLanguageModelCallEnd(user: AnyCallback | undefined): AnyCallback {
    return async (event: LanguageModelCallEndEvent<ToolSet>) => {
      await this.#modelCallEnded({
        usage: event.usage,
        content: event.content,
        response: {
          provider: event.provider,
          modelId: event.modelId,
          responseId: event.responseId,
          finishReason: event.finishReason,
          content: event.content,
        },
      })
      await callUser(user, event)
    }
  }

  /**
   * `onStepEnd`: the end of the tool calls that ran no wrapped `execute` (invalid input, an
   * unknown tool, a provider-executed tool), and `turn-end` when not streaming (a streamed
   * attempt ends the turn when the reader reaches the step's `finish-step`).
   */
  onStepEnd(user: AnyCallback | undefined): AnyCallback {
    return async (step: StepResult<ToolSet>) => {
      await this.#modelCallEnded({
        usage: step.usage,
        content: step.content,
        response: {
          provider: step.model?.provider,
          modelId: step.response?.modelId,
          responseId: step.response?.id,
          finishReason: step.finishReason,
          content: step.content,
        },
      })
      await this.guard(async () => {
        for (const part of step.content) {
          if (part.type !== 'tool-result' && part.type !== 'tool-error') continue
          if (part.type === 'tool-result' && part.preliminary) continue
          if (this.#endedToolCalls.has(part.toolCallId)) continue
          this.#endedToolCalls.add(part.toolCallId)
          await this.#context.hooks.toolCallEnd({
            toolCallId: part.toolCallId,
            toolName: part.toolName,
            input: part.input,
            output: part.type === 'tool-error' ? errorMessage(part.error) : part.output,
            isError: part.type === 'tool-error',
            durationMs: 0,
          })
        }
        if (!this.#context.streaming) this.#context.endTurn()
      })
      await callUser(user, step)
    }
  }

  /** The tools with each `execute` wrapped (tools without one, provider tools, pass as they are). */
  wrapTools(tools: ToolSet | undefined): ToolSet {
    const wrapped: ToolSet = {}
    for (const [name, tool] of Object.entries(tools ?? {})) {
      wrapped[name] = typeof tool.execute === 'function' ? wrapTool(name, tool, this) : tool
      this.#wrappedTools.add(wrapped[name])
    }
    this.#toolNames = Object.keys(wrapped)
    return wrapped
  }

  /** Streaming: the reader read a `tool-call` part. */
  readToolCall(toolCallId: string): void {
    this.#readToolCalls.add(toolCallId)
    this.#wake()
  }

  /** Streaming: the reader read a `finish-step` part. */
  readStep(): void {
    this.#stepsRead += 1
    this.#wake()
  }

  #isWrapped(tool: unknown): boolean {
    return typeof tool === 'object' && tool !== null && this.#wrappedTools.has(tool)
  }

  /**
   * The usage and `onModelCallEnd` of the current step, once: from `onLanguageModelCallEnd`,
   * or from `onStepEnd` when that callback was not called (an agent whose `prepareCall`
   * dropped it). Never both, so usage is not counted twice.
   */
  async #modelCallEnded(ended: {
    usage: Parameters<typeof usageOf>[0]
    content: ReadonlyArray<{ type: string }>
    response: Record<string, unknown>
  }): Promise<void> {
    const step = this.#step
    if (!step || step.modelEnded.settled) return
    try {
      await this.guard(async () => {
        const usage = usageOf(ended.usage)
        this.#context.addUsage(usage)
        const toolCalls = ended.content.flatMap((part) =>
          part.type === 'tool-call' ? [toolCallOf(part as unknown as ToolCallPart)] : [],
        )
        step.toolCallIds = new Set(toolCalls.map((call) => call.toolCallId))
        const text = ended.content
          .flatMap((part) => (part.type === 'text' ? [(part as unknown as { text: string }).text] : []))
          .join('')
        await this.#context.hooks.modelCallEnd({ response: ended.response, text, toolCalls, usage })
      })
    } catch {
      // Kept by guard: the attempt is failing.
    } finally {
      step.modelEnded.resolve()
    }
  }

  /** The run's context (for the tool wrapper). */
  get context(): RunContext {
    return this.#context
  }

  /** A wrapped tool reports the end of this call itself (`onStepEnd` leaves it alone). */
  toolCallHandled(toolCallId: string): void {
    this.#endedToolCalls.add(toolCallId)
  }

  /**
   * Streaming: a tool of the current step waits until its model call has ended (so that
   * `onModelCallEnd` comes before `onToolCallStart`) and the reader has read its `tool-call`
   * part (so that its `tool-call` event comes before what the tool reports).
   */
  async beforeTool(toolCallId: string): Promise<void> {
    if (!this.#context.streaming) return
    const step = this.#step
    if (!step) return
    await raceAbort(step.modelEnded.promise, this.signal)
    if (step.toolCallIds.has(toolCallId)) await this.#untilRead(() => this.#readToolCalls.has(toolCallId))
  }

  /** Streaming: waits until the reader has read `count` steps, so that the next turn's events follow theirs. */
  #untilStepsRead(count: number): Promise<void> {
    if (!this.#context.streaming) return Promise.resolve()
    return this.#untilRead(() => this.#stepsRead >= count)
  }

  async #untilRead(condition: () => boolean): Promise<void> {
    while (!condition()) {
      if (this.signal.aborted) throw this.errorFor(this.signal.reason)
      await new Promise<void>((resolve) => this.#wakeReader.push(resolve))
    }
  }

  #wake(): void {
    const waiters = this.#wakeReader
    this.#wakeReader = []
    for (const wake of waiters) wake()
  }

  /** Runs a hook; a throw fails the attempt (the AI SDK would swallow it) and is rethrown. */
  async guard<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } catch (error) {
      this.fail(error)
      throw error
    }
  }

  /**
   * Aborts the AI SDK's work. The SDK recognises an abort by its error's name (`AbortError`), as
   * `fetch` reports it: it then ends its stream with an `abort` part and calls `onAbort`, and
   * never retries. The run's own reason (`RunCanceledError`, `RunTimeoutError`, a failed hook)
   * is kept as the `cause`, and is what the attempt ends with (`errorFor`).
   */
  #abort(reason: unknown): void {
    if (!this.#controller.signal.aborted) {
      const abort = new DOMException(errorMessage(reason), 'AbortError')
      Object.defineProperty(abort, 'cause', { value: reason })
      this.#controller.abort(abort)
    }
    this.#wake()
  }
}

type ToolCallPart = { toolCallId: string; toolName: string; input: unknown }

function toolCallOf(part: ToolCallPart): ToolCallInfo {
  return { toolCallId: part.toolCallId, toolName: part.toolName, input: part.input }
}

function modelInfo(model: unknown): unknown {
  if (typeof model === 'string') return model
  const { provider, modelId } = (model ?? {}) as { provider?: unknown; modelId?: unknown }
  return { provider, modelId }
}

/** Calls a user's callback the way the AI SDK does: what it throws is ignored. */
async function callUser(callback: AnyCallback | undefined, event: unknown): Promise<void> {
  try {
    await callback?.(event)
  } catch {
    // The AI SDK ignores errors of callbacks; so does the runner for the user's own.
  }
}

/** An abort or timeout as `fetch` and `AbortSignal` report them. */
function isAbortError(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name
  return error instanceof Error && (name === 'AbortError' || name === 'TimeoutError')
}
