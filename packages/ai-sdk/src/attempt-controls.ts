import { MaxTurnsExceededError, RunCanceledError, type RunContext } from '@runner/core'
import { errorMessage, raceAbort } from '@runner/core/adapter'
import {
  type FinishReason,
  type Instructions,
  type LanguageModel,
  type LanguageModelCallEndEvent,
  NoOutputGeneratedError,
  type PrepareStepFunction,
  type PrepareStepResult,
  type StepResult,
  type StopCondition,
  type ToolSet,
} from 'ai'
import type { DurableConversation } from './durable-conversation.js'
import { usageOf } from './map-usage.js'
import { callModelOf } from './model-info.js'
import { requestsInPlace } from './model-requests.js'
import { overridesLostError } from './overrides-lost-error.js'
import { replayModel } from './replay-model.js'
import { withPreparedSchema } from './tool-schema.js'
import { wrapTool } from './tool-wrapper.js'
import { wrapUpMessages } from './wrap-up.js'

// biome-ignore lint/suspicious/noExplicitAny: callbacks of any tool set
type AnyCallback = (event: any) => unknown

/** What the runner knows of one attempt's agent. */
export interface AttemptControlsOptions {
  /** The instructions of wrap-up turns (the agent's own, without `prompts.reportStatus`); undefined: unchanged. */
  wrapUpInstructions: Instructions | undefined
  /** Check at each step that a ToolLoopAgent's `prepareCall` kept the runner's `prepareStep` and tools. */
  checkOverrides: boolean
  /** The attempt's conversation: checkpoints, the answer a resumed run replays, edited inputs. */
  conversation: DurableConversation
}

/**
 * The runner's controls over one attempt of an AI SDK tool loop (`generateText` / `streamText`,
 * or a ToolLoopAgent's `generate` / `stream`), given to the AI SDK as its own options. Core's run
 * context does the rest: its signal goes to the SDK as it is, its hooks fail the attempt when they
 * throw (the SDK ignores what callbacks throw), its `modelRequest` repeats a failed request.
 * - `stopWhen`: the user's conditions, then the turn limit (`context.nextTurn()`);
 * - `prepareStep`: starts the turn (`context.startTurn()`), asks for the wrap-up (no tools,
 *   `prompts.wrapUp`) in the wrap-up turns of `maxTurnsRecovery`, sends the step's requests
 *   through `context.modelRequest`, and fires `onModelCallStart`;
 * - `onLanguageModelCallEnd`: the call's usage, once, and `onModelCallEnd`;
 * - each tool's `execute` runs through core's tool-call protocol (`wrapTool`); `onStepEnd` ends
 *   the tool calls that ran no `execute` (invalid input, unknown tool, provider-executed).
 * - durable runs: `onLanguageModelCallEnd` checkpoints an answer that calls tools before they run;
 *   the first step of a run resumed from such a checkpoint replays that answer without a model
 *   request (no turn is counted, no model hook fires: the turn was counted before).
 *
 * In a streamed attempt, a tool waits until the reader read its `tool-call` part (`beforeTool`).
 * The rest of the order is the AI SDK's: it awaits `onLanguageModelCallEnd` before it runs a
 * step's tools, and starts the next step (`prepareStep`: `turn-end`, `turn-start`) only once the
 * step's `finish-step` went through the stream's transforms and its event processor.
 */
export class AttemptControls {
  readonly #context: RunContext
  readonly #options: AttemptControlsOptions
  readonly #model: (model: LanguageModel) => LanguageModel
  /** The current step's model call was counted (usage once, `onModelCallEnd` once). */
  #modelCallCounted = true
  /** The current step replays a checkpointed answer. */
  #replaying = false
  /** The stop condition ended the loop at the turn limit. */
  #limitReached = false
  readonly #preparedSteps = new Set<number>()
  /** Tool calls a wrapped `execute` ends itself (`onStepEnd` leaves them). */
  readonly #toolCallsRun = new Set<string>()
  readonly #wrappedTools = new WeakSet<object>()
  #toolNames: string[] = []
  /** Streaming: the tool calls of the current model call, those the reader read, the tools waiting. */
  #stepToolCalls: ReadonlySet<string> = new Set()
  readonly #toolCallsRead = new Set<string>()
  readonly #toolsWaiting = new Map<string, () => void>()

  constructor(context: RunContext, options: AttemptControlsOptions) {
    this.#context = context
    this.#options = options
    this.#model = requestsInPlace(context)
  }

  /** The run context of the attempt (for the tool wrapper). */
  get context(): RunContext {
    return this.#context
  }

  /**
   * The error the attempt ends with, given what the AI SDK threw: the SDK's own abort (its
   * `timeout` setting) is a cancel, never a completed or retried run. Core settles the attempt by
   * itself on the run's cancel, timeout or a failed hook, whatever the SDK throws then.
   */
  errorFor(error: unknown): unknown {
    return isAbortError(error) && !this.#context.signal.aborted ? this.abortError(errorMessage(error)) : error
  }

  /** The error a stream's `abort` part stands for. */
  abortError(reason: string | undefined): unknown {
    if (this.#context.signal.aborted) return this.#context.signal.reason
    const detail = reason?.replace(/\.$/, '')
    return new RunCanceledError(`The AI SDK aborted the model call${detail ? ` (${detail})` : ''}.`, {
      reason,
    })
  }

  /**
   * Ends the last turn and checks how the loop ended, once the AI SDK returned: the turn limit
   * throws `MaxTurnsExceededError`; an answer that stopped on an error or was interrupted is never
   * a success.
   */
  settle(finishReason: FinishReason): void {
    this.#context.endTurn()
    if (this.#limitReached) throw new MaxTurnsExceededError(this.#context.maxTurns)
    if (finishReason === 'error' || finishReason === 'interrupted') {
      throw new NoOutputGeneratedError({
        message:
          finishReason === 'error'
            ? 'The model call ended with an error (finishReason "error") and no error part: the answer is not usable. A new attempt may succeed.'
            : 'The model call was interrupted: the provider stream ended without its completion signal (finishReason "interrupted"), so the answer may be incomplete. A new attempt may succeed.',
      })
    }
  }

  /**
   * `stopWhen`: the user's conditions (an agent's default included), then the turn limit. At the
   * limit the loop goes on only into a wrap-up turn of `maxTurnsRecovery`; otherwise it stops and
   * `settle` throws `MaxTurnsExceededError`.
   */
  stopWhen(user: StopCondition<ToolSet> | StopCondition<ToolSet>[] | undefined): StopCondition<ToolSet> {
    const conditions = user === undefined ? [] : Array.isArray(user) ? user : [user]
    return async (options) => {
      const results = await Promise.all(conditions.map((condition) => condition(options)))
      if (results.some(Boolean)) return true
      if (this.#context.nextTurn() !== undefined) return false
      this.#limitReached = true
      return true
    }
  }

  /**
   * `prepareStep`: ends the previous turn and starts this one, runs the user's `prepareStep`, turns a wrap-up turn into a
   * request without tools that asks for the final answer, sends the step's requests through the
   * run's retry policy, and fires `onModelCallStart`.
   */
  prepareStep(user: PrepareStepFunction<ToolSet> | undefined): PrepareStepFunction<ToolSet> {
    return async (options) => {
      this.#context.endTurn()
      const conversation = this.#options.conversation
      conversation.stepStarts(options)
      const answer = conversation.takeReplay(options.stepNumber)
      this.#replaying = answer !== undefined
      if (answer) {
        // The tail of a step of the earlier process: its prepareStep ran then, its turn is counted.
        this.#preparedSteps.add(options.stepNumber)
        return { model: replayModel(options.model, answer) }
      }
      const turn = await this.#context.startTurn()
      this.#modelCallCounted = false
      const fromUser = await user?.(options)
      const result: PrepareStepResult<ToolSet> & {} = {
        ...fromUser,
        model: this.#model(fromUser?.model ?? options.model),
      }
      if (turn.wrapUp) {
        result.activeTools = []
        result.toolChoice = 'auto'
        result.messages = wrapUpMessages(fromUser?.messages ?? options.messages, this.#context.prompts.wrapUp)
        if (this.#options.wrapUpInstructions !== undefined)
          result.instructions = this.#options.wrapUpInstructions
      }
      await this.#context.hooks.modelCallStart({
        ...callModelOf(result.model),
        request: {
          stepNumber: options.stepNumber,
          model: modelInfo(result.model),
          instructions: result.instructions ?? options.instructions,
          messages: result.messages ?? options.messages,
          tools: result.activeTools ?? this.#toolNames,
          toolChoice: result.toolChoice,
        },
      })
      this.#preparedSteps.add(options.stepNumber)
      return result
    }
  }

  /**
   * `onStepStart`: a ToolLoopAgent's `prepareCall` may replace what the runner gave it; without
   * the runner's `prepareStep` or tools the turn limit and the tool hooks would not hold, so the
   * attempt is refused.
   */
  onStepStart(user: AnyCallback | undefined): AnyCallback {
    return async (event: { stepNumber: number; tools?: ToolSet }) => {
      if (this.#options.checkOverrides) {
        if (!this.#preparedSteps.has(event.stepNumber)) this.#context.fail(overridesLostError('prepareStep'))
        else if (Object.values(event.tools ?? {}).some((tool) => !this.#wrappedTools.has(tool))) {
          this.#context.fail(overridesLostError('tools'))
        }
      }
      await user?.(event)
    }
  }

  /**
   * `onLanguageModelCallEnd`: the call's usage (once) and `onModelCallEnd`, then the checkpoint of
   * an answer that calls tools, all before its tools run. A checkpoint that cannot be written fails
   * the attempt (the AI SDK ignores what callbacks throw).
   */
  onLanguageModelCallEnd(user: AnyCallback | undefined): AnyCallback {
    return async (event: LanguageModelCallEndEvent<ToolSet>) => {
      if (this.#replaying) {
        this.#stepToolCalls = new Set(toolCallsOf(event.content).map((call) => call.toolCallId))
      } else {
        await this.#modelCallEnded(event.usage, event.content, {
          provider: event.provider,
          modelId: event.modelId,
          responseId: event.responseId,
          finishReason: event.finishReason,
          content: event.content,
        })
        try {
          await this.#options.conversation.modelAnswered(event.content)
        } catch (error) {
          this.#context.fail(error)
          throw error
        }
      }
      await user?.(event)
    }
  }

  /**
   * `onStepEnd`: the model call's end if `onLanguageModelCallEnd` did not report it (a
   * `prepareCall` that dropped it), and the end of the tool calls that ran no wrapped `execute`.
   */
  onStepEnd(user: AnyCallback | undefined): AnyCallback {
    return async (step: StepResult<ToolSet>) => {
      await this.#modelCallEnded(step.usage, step.content, {
        provider: step.model?.provider,
        modelId: step.response?.modelId,
        responseId: step.response?.id,
        finishReason: step.finishReason,
        content: step.content,
      })
      for (const part of step.content) {
        if (part.type !== 'tool-result' && part.type !== 'tool-error') continue
        if ((part.type === 'tool-result' && part.preliminary) || this.#toolCallsRun.has(part.toolCallId))
          continue
        await this.#context.hooks.toolCallEnd({
          toolCallId: part.toolCallId,
          toolName: part.toolName,
          input: part.input,
          output: part.type === 'tool-error' ? errorMessage(part.error) : part.output,
          isError: part.type === 'tool-error',
          durationMs: 0,
        })
      }
      await user?.(step)
    }
  }

  /**
   * The tools with each `execute` run through core's tool-call protocol (tools without one pass
   * as they are), each input schema converted to JSON Schema once (`withPreparedSchema`).
   */
  wrapTools(tools: ToolSet | undefined): ToolSet {
    const wrapped: ToolSet = {}
    for (const [name, own] of Object.entries(tools ?? {})) {
      const tool = withPreparedSchema(own)
      wrapped[name] = typeof tool.execute === 'function' ? wrapTool(name, tool, this) : tool
      this.#wrappedTools.add(wrapped[name])
    }
    this.#toolNames = Object.keys(wrapped)
    return wrapped
  }

  /** A wrapped tool ends this call itself. */
  toolCallRun(toolCallId: string): void {
    this.#toolCallsRun.add(toolCallId)
  }

  /** The input a person gave when approving `toolCallId`, if they changed the model's. */
  editedInput(toolCallId: string): unknown {
    return this.#options.conversation.editedInput(toolCallId)
  }

  /** The text of a call a person denied (`Tool call denied: <reason>`), for its `tool-result` event. */
  deniedText(toolCallId: string): string | undefined {
    return this.#options.conversation.deniedText(toolCallId)
  }

  /** Streaming: the reader read a `tool-call` part. */
  readToolCall(toolCallId: string): void {
    this.#toolCallsRead.add(toolCallId)
    this.#toolsWaiting.get(toolCallId)?.()
  }

  /**
   * Streaming: waits until the reader read the tool's `tool-call` part. The AI SDK runs a step's
   * tools upstream of the transforms of its stream (`experimental_transform`: `smoothStream`
   * holds text back): without the wait, what a tool reports could come before the text the model
   * said before the call, and before the call's `tool-call` event.
   */
  async beforeTool(toolCallId: string): Promise<void> {
    if (
      !this.#context.streaming ||
      !this.#stepToolCalls.has(toolCallId) ||
      this.#toolCallsRead.has(toolCallId)
    )
      return
    const { promise, resolve } = Promise.withResolvers<void>()
    this.#toolsWaiting.set(toolCallId, resolve)
    await raceAbort(promise, this.#context.signal)
  }

  async #modelCallEnded(
    usage: Parameters<typeof usageOf>[0],
    content: ReadonlyArray<{ type: string }>,
    response: Record<string, unknown>,
  ): Promise<void> {
    if (this.#modelCallCounted) return
    this.#modelCallCounted = true
    const calls = toolCallsOf(content)
    this.#stepToolCalls = new Set(calls.map((call) => call.toolCallId))
    const counted = usageOf(usage)
    this.#context.addUsage(counted)
    const answered = callModelOf({ provider: response.provider, modelId: response.modelId })
    const finishReason = response.finishReason
    await this.#context.hooks.modelCallEnd({
      ...answered,
      ...(typeof finishReason === 'string' ? { finishReasons: [finishReason] } : {}),
      response,
      text: content
        .flatMap((part) => (part.type === 'text' ? [(part as { text?: string }).text ?? ''] : []))
        .join(''),
      toolCalls: calls.map(({ toolCallId, toolName, input }) => ({ toolCallId, toolName, input })),
      usage: counted,
    })
  }
}

type ToolCallPart = { toolCallId: string; toolName: string; input: unknown }

function toolCallsOf(content: ReadonlyArray<{ type: string }>): ToolCallPart[] {
  return content.flatMap((part) => (part.type === 'tool-call' ? [part as unknown as ToolCallPart] : []))
}

function modelInfo(model: unknown): unknown {
  if (typeof model === 'string') return model
  const { provider, modelId } = (model ?? {}) as { provider?: unknown; modelId?: unknown }
  return { provider, modelId }
}

/** An abort or timeout as `fetch` and `AbortSignal` report them. */
function isAbortError(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name
  return error instanceof Error && (name === 'AbortError' || name === 'TimeoutError')
}
