import { BaseCallbackHandler, type HandleLLMNewTokenCallbackFields } from '@langchain/core/callbacks/base'
import type { Serialized } from '@langchain/core/load/serializable'
import { type BaseMessage, HumanMessage } from '@langchain/core/messages'
import type { LLMResult } from '@langchain/core/outputs'
import { CapabilityUnsupportedError, type ToolCallInfo } from '@runner/core'
import type { TurnInfo } from '@runner/core/adapter'
import type { LangChainAttempt } from './langchain-attempt.js'
import { usageOf } from './map-usage.js'
import { partsOf, toolCallsOf } from './message-content.js'
import { parseToolInput, toolFailureText, toolOutputOf } from './tool-output.js'

/** Tags that keep a model's tokens out of the stream (LangGraph's convention). */
const noStreamTags = ['nostream', 'langsmith:nostream']

interface ModelRun {
  noStream: boolean
  streamedText: boolean
  streamedReasoning: boolean
}

interface ToolRun {
  call: ToolCallInfo
  started: number
}

/** The name LangChain gives a serialized Runnable (`ChatOpenAI`, `search`...). */
function nameOf(serialized: Serialized | undefined, runName: string | undefined): string {
  if (runName) return runName
  const { name, id } = (serialized ?? {}) as { name?: unknown; id?: unknown }
  if (typeof name === 'string') return name
  return Array.isArray(id) && typeof id.at(-1) === 'string' ? (id.at(-1) as string) : 'unknown'
}

/**
 * What `onModelCallStart` gets as `request`, besides the messages: the Runnable (`ChatOpenAI`),
 * the model name LangChain reports (`ls_model_name`), and the call's invocation parameters
 * (tools, temperature...).
 */
function requestBase(
  llm: Serialized,
  runName: string | undefined,
  extraParams: Record<string, unknown> | undefined,
  metadata: Record<string, unknown> | undefined,
) {
  const model = metadata?.ls_model_name
  return {
    runnable: nameOf(llm, runName),
    model: typeof model === 'string' ? model : undefined,
    invocationParams: extraParams?.invocation_params,
  }
}

/** A `{ message, percentage? }` custom event: a status for the activity. */
function statusOf(data: unknown): { message: string; percentage?: number } | undefined {
  if (typeof data !== 'object' || data === null) return undefined
  const { message, percentage } = data as { message?: unknown; percentage?: unknown }
  if (typeof message !== 'string' || message.trim() === '') return undefined
  if (percentage === undefined || percentage === null) return { message }
  return typeof percentage === 'number' ? { message, percentage } : undefined
}

/**
 * The bridge from LangChain's callbacks to one attempt of a run: every chat model (or LLM) call
 * counts a turn and fires the model hooks; tokens become `text-delta` / `reasoning-delta`;
 * `usage_metadata` is summed; tools that were not wrapped still report their calls (wrapped tools
 * report themselves); custom events that carry `{ message, percentage? }` update the activity.
 *
 * LangChain awaits it (`awaitHandlers`), so a model call waits for its hooks, and it never throws
 * (LangChain would only log it): a hook error or the turn limit stops the attempt instead.
 */
export class RunCallbackHandler extends BaseCallbackHandler {
  name = 'runner_callback_handler'
  readonly #attempt: LangChainAttempt
  /** A turn already counted for the call this handler sees first (the wrap-up call). */
  #pendingTurn: TurnInfo | undefined
  readonly #models = new Map<string, ModelRun>()
  readonly #tools = new Map<string, ToolRun>()
  #closed = false

  constructor(attempt: LangChainAttempt, options: { pendingTurn?: TurnInfo } = {}) {
    // No chain or retriever callbacks are handled: skipping them saves LangChain work per step.
    super({ _awaitHandler: true, ignoreChain: true, ignoreRetriever: true })
    this.#attempt = attempt
    this.#pendingTurn = options.pendingTurn
  }

  /** The attempt this handler reports to. */
  get attempt(): LangChainAttempt {
    return this.#attempt
  }

  /** False once the LangChain call it listens to is over (or stopped): late callbacks change nothing. */
  get active(): boolean {
    return !this.#closed && !this.#attempt.inactive
  }

  /** Stops listening: what the call it listened to still does (work that ignored the abort) is ignored. */
  close(): void {
    this.#closed = true
  }

  /** The runner's handler among a RunnableConfig's callbacks (how wrapped tools find their run). */
  static from(config: unknown): RunCallbackHandler | undefined {
    const callbacks = (config as { callbacks?: unknown } | undefined)?.callbacks
    const handlers = Array.isArray(callbacks)
      ? callbacks
      : (callbacks as { handlers?: unknown } | undefined)?.handlers
    if (!Array.isArray(handlers)) return undefined
    return handlers.find((handler): handler is RunCallbackHandler => handler instanceof RunCallbackHandler)
  }

  /** One handler per attempt: a copy is the same handler. */
  override copy(): this {
    return this
  }

  override async handleChatModelStart(
    llm: Serialized,
    messages: BaseMessage[][],
    runId: string,
    _parentRunId?: string,
    extraParams?: Record<string, unknown>,
    tags?: string[],
    metadata?: Record<string, unknown>,
    runName?: string,
  ): Promise<void> {
    const prompt = messages[0] ?? []
    await this.#modelStart(runId, prompt, tags, {
      ...requestBase(llm, runName, extraParams, metadata),
      messages: prompt,
    })
  }

  override async handleLLMStart(
    llm: Serialized,
    prompts: string[],
    runId: string,
    _parentRunId?: string,
    extraParams?: Record<string, unknown>,
    tags?: string[],
    metadata?: Record<string, unknown>,
    runName?: string,
  ): Promise<void> {
    const prompt = prompts[0] ?? ''
    await this.#modelStart(runId, [new HumanMessage(prompt)], tags, {
      ...requestBase(llm, runName, extraParams, metadata),
      prompt,
    })
  }

  override async handleLLMNewToken(
    token: string,
    _indices: unknown,
    runId: string,
    _parentRunId?: string,
    _tags?: string[],
    fields?: HandleLLMNewTokenCallbackFields,
  ): Promise<void> {
    const model = this.#models.get(runId)
    if (!model || model.noStream || !this.active) return
    const chunk = fields?.chunk
    const { text, reasoning } =
      chunk && 'message' in chunk ? partsOf(chunk.message) : { text: token, reasoning: '' }
    const { context } = this.#attempt
    if (reasoning !== '') {
      model.streamedReasoning = true
      context.emit({ type: 'reasoning-delta', text: reasoning })
    }
    if (text !== '') {
      model.streamedText = true
      context.emit({ type: 'text-delta', text })
    }
  }

  /**
   * The content-block stream of `@langchain/core` 1.4+ (used instead of `handleLLMNewToken` when
   * a handler prefers it): text and reasoning deltas, and the text a block starts with.
   */
  override async handleChatModelStreamEvent(event: unknown, runId: string): Promise<void> {
    const model = this.#models.get(runId)
    if (!model || model.noStream || !this.active) return
    const {
      event: kind,
      delta,
      content,
    } = event as {
      event?: string
      delta?: { type?: string; text?: unknown; reasoning?: unknown }
      content?: { type?: string; text?: unknown; reasoning?: unknown }
    }
    const block =
      kind === 'content-block-delta' ? delta : kind === 'content-block-start' ? content : undefined
    const type = block?.type?.replace(/-delta$/, '')
    const { context } = this.#attempt
    if (type === 'text' && typeof block?.text === 'string' && block.text !== '') {
      model.streamedText = true
      context.emit({ type: 'text-delta', text: block.text })
    } else if (type === 'reasoning' && typeof block?.reasoning === 'string' && block.reasoning !== '') {
      model.streamedReasoning = true
      context.emit({ type: 'reasoning-delta', text: block.reasoning })
    }
  }

  override async handleLLMEnd(output: LLMResult, runId: string): Promise<void> {
    const model = this.#models.get(runId)
    this.#models.delete(runId)
    if (!model || !this.active) return
    const { context } = this.#attempt
    const generation = output.generations?.[0]?.[0]
    const message = generation && 'message' in generation ? (generation.message as unknown) : undefined
    const { text, reasoning } = message ? partsOf(message) : { text: generation?.text ?? '', reasoning: '' }
    const usage = usageOf(
      (message as { usage_metadata?: unknown } | undefined)?.usage_metadata,
      output.llmOutput,
    )
    if (usage) context.addUsage(usage)
    // A model that does not stream (or a run that is not streamed) still shows its answer once.
    if (!model.noStream && reasoning !== '' && !model.streamedReasoning)
      context.emit({ type: 'reasoning-delta', text: reasoning })
    if (!model.noStream && text !== '' && !model.streamedText) context.emit({ type: 'text-delta', text })
    this.#attempt.lastAnswer = message ?? text
    await this.#guard(() =>
      context.hooks.modelCallEnd({
        response: message ?? output,
        text,
        toolCalls: toolCallsOf(message),
        ...(usage ? { usage } : {}),
      }),
    )
  }

  override async handleLLMError(_error: unknown, runId: string): Promise<void> {
    this.#models.delete(runId)
  }

  override async handleToolStart(
    tool: Serialized,
    input: string,
    runId: string,
    _parentRunId?: string,
    _tags?: string[],
    _metadata?: Record<string, unknown>,
    runName?: string,
    toolCallId?: string,
  ): Promise<void> {
    if (!this.active || this.#attempt.wrappedRuns.has(runId)) return
    const { context } = this.#attempt
    const call: ToolCallInfo = {
      toolCallId: toolCallId ?? runId,
      toolName: nameOf(tool, runName),
      input: parseToolInput(input),
    }
    context.emit({ type: 'tool-call', ...call })
    this.#tools.set(runId, { call, started: performance.now() })
    await this.#guard(async () => {
      const decision = await context.hooks.toolCallStart(call)
      const rewritten = decision.denied === undefined && !Object.is(decision.input, call.input)
      if (decision.denied !== undefined || rewritten) {
        this.#attempt.fail(
          new CapabilityUnsupportedError(
            'toolHooks',
            `tool "${call.toolName}" is not wrapped, so onToolCallStart cannot ${rewritten ? 'rewrite' : 'deny'} its call and the run was stopped. Pass the agent's tools through runner.wrapTools([...]) (runner.tools.reportStatus is wrapped already).`,
          ),
        )
      }
    })
  }

  override async handleToolEnd(output: unknown, runId: string): Promise<void> {
    const { output: value, isError } = toolOutputOf(output)
    await this.#toolEnd(runId, value, isError)
  }

  override async handleToolError(error: unknown, runId: string): Promise<void> {
    const run = this.#tools.get(runId)
    await this.#toolEnd(runId, toolFailureText(run?.call.toolName ?? 'unknown', error), true)
  }

  override async handleCustomEvent(_eventName: string, data: unknown): Promise<void> {
    if (!this.active) return
    const status = statusOf(data)
    if (!status) return
    const { context } = this.#attempt
    await this.#guard(() => context.report(status.message, status.percentage))
  }

  async #modelStart(runId: string, prompt: BaseMessage[], tags: string[] | undefined, request: unknown) {
    if (!this.active) return
    const { context } = this.#attempt
    let turn = this.#pendingTurn
    this.#pendingTurn = undefined
    if (!turn) {
      try {
        turn = await context.startTurn()
      } catch (error) {
        // MaxTurnsExceededError: stop before this call reaches the model.
        this.#attempt.fail(error)
        return
      }
      if (turn.wrapUp) {
        this.#attempt.stopForWrapUp(prompt, turn)
        return
      }
    }
    const noStream = (tags ?? []).some((tag) => noStreamTags.includes(tag))
    this.#models.set(runId, { noStream, streamedText: false, streamedReasoning: false })
    await this.#guard(() => context.hooks.modelCallStart({ request }))
  }

  async #toolEnd(runId: string, output: unknown, isError: boolean): Promise<void> {
    const run = this.#tools.get(runId)
    this.#tools.delete(runId)
    if (!run || !this.active) return
    const { context } = this.#attempt
    const { call } = run
    const ended = await this.#guard(() =>
      context.hooks.toolCallEnd({
        ...call,
        output,
        isError,
        durationMs: Math.round(performance.now() - run.started),
      }),
    )
    if (ended)
      context.emit({
        type: 'tool-result',
        toolCallId: call.toolCallId,
        toolName: call.toolName,
        output,
        isError,
      })
  }

  /** Runs a hook; its error fails the run (a callback cannot throw into LangChain). False when it threw. */
  async #guard(fire: () => Promise<unknown>): Promise<boolean> {
    try {
      await fire()
      return true
    } catch (error) {
      this.#attempt.fail(error)
      return false
    }
  }
}
