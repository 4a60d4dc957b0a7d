import { BaseCallbackHandler, type HandleLLMNewTokenCallbackFields } from '@langchain/core/callbacks/base'
import type { Serialized } from '@langchain/core/load/serializable'
import { type BaseMessage, HumanMessage } from '@langchain/core/messages'
import type { LLMResult } from '@langchain/core/outputs'
import { CapabilityUnsupportedError, type RunContext, type ToolCallInfo } from '@runner/core'
import { type BegunToolCall, beginToolCall } from '@runner/core/adapter'
import { keepAnswerIdUnique, messageIdsOf } from './answer-id.js'
import { answerInvalidToolCalls } from './invalid-tool-calls.js'
import { usageOf, withoutAnthropicStartTokens } from './map-usage.js'
import { partsOf, toolCallsOf } from './message-content.js'
import { answerInfoOf, providerOf, requestedModelOf } from './model-info.js'
import { parseToolInput, toolOutputOf } from './tool-output.js'

/** Tags that keep a model's tokens out of the stream (LangGraph's convention). */
const noStreamTags = ['nostream', 'langsmith:nostream']

interface ModelRun {
  noStream: boolean
  streamedText: boolean
  streamedReasoning: boolean
  /** The ids of the messages the model was given: its answer must not repeat one. */
  givenIds: Set<string>
  /** `output_tokens` of the first streamed chunk that reported usage (Anthropic's `message_start`). */
  startOutputTokens?: number
  /** The model the call asked for and its provider (GenAI name). */
  model: string | undefined
  provider: string | undefined
}

/** What the attempt already failed with stays its outcome: LangChain would only log a callback's throw. */
const failedAlready = () => {}

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
 * The bridge from LangChain's callbacks to one LangChain call of an attempt: every chat model (or
 * LLM) call counts a turn and fires the model hooks; tokens become `text-delta` /
 * `reasoning-delta`; `usage_metadata` is summed; tools that were not wrapped still report their
 * calls (wrapped tools report themselves); custom events that carry `{ message, percentage? }`
 * update the activity. An answer that repeats the id of a message the model was given gets a new
 * id before the graph adds it to its state (`keepAnswerIdUnique`).
 *
 * LangChain awaits it (`awaitHandlers`), so a model call waits for its hooks. It never throws
 * into LangChain, which would only log it: a throwing hook or the turn limit fails the attempt
 * (core calls `context.fail`), whose signal stops the LangChain call.
 */
export class RunCallbackHandler extends BaseCallbackHandler {
  name = 'runner_callback_handler'
  /** The attempt this handler reports to. */
  readonly context: RunContext
  /** The signal of the LangChain call it listens to. */
  readonly signal: AbortSignal
  /** LangChain run ids of tools called by a wrapped tool (the callbacks leave those to the wrapper). */
  readonly wrappedRuns = new Set<string>()
  /** Tool calls whose arguments were not valid JSON, by id: their raw arguments. */
  readonly invalidArguments = new Map<string, string>()
  /** The last answer of a model in this call (for the final text when the output has none). */
  lastAnswer: unknown
  readonly #onWrapUp: ((prompt: BaseMessage[]) => void) | undefined
  readonly #onModelEnd: (() => Promise<void>) | undefined
  readonly #models = new Map<string, ModelRun>()
  readonly #tools = new Map<string, BegunToolCall>()
  #closed = false

  static readonly #open = new WeakMap<RunContext, RunCallbackHandler>()

  /**
   * @param options.signal the signal given to the LangChain call.
   * @param options.onWrapUp called instead of a model call that would start a wrap-up turn of
   *   `maxTurnsRecovery`, with the messages it was about to send (the caller stops the call).
   *   Without it, the call is made as the wrap-up turn.
   * @param options.onModelEnd awaited after each model call ends (its usage counted, its hooks
   *   fired): a durable run checkpoints there. What it throws fails the attempt.
   */
  constructor(
    context: RunContext,
    options: {
      signal: AbortSignal
      onWrapUp?: (prompt: BaseMessage[]) => void
      onModelEnd?: () => Promise<void>
    },
  ) {
    // No chain or retriever callbacks are handled: skipping them saves LangChain work per step.
    super({ _awaitHandler: true, ignoreChain: true, ignoreRetriever: true })
    this.context = context
    this.signal = options.signal
    this.#onWrapUp = options.onWrapUp
    this.#onModelEnd = options.onModelEnd
    RunCallbackHandler.#open.set(context, this)
  }

  /** False once the LangChain call it listens to is over (or stopped): late callbacks change nothing. */
  get active(): boolean {
    return !this.#closed && !this.signal.aborted
  }

  /** Stops listening: what the call it listened to still does (work that ignored the abort) is ignored. */
  close(): void {
    this.#closed = true
    if (RunCallbackHandler.#open.get(this.context) === this) RunCallbackHandler.#open.delete(this.context)
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

  /** The open handler of a run's attempt (for a wrapped tool called without a config). */
  static of(context: RunContext | undefined): RunCallbackHandler | undefined {
    return context ? RunCallbackHandler.#open.get(context) : undefined
  }

  /** One handler per LangChain call: a copy is the same handler. */
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
    await this.#modelStart(
      runId,
      prompt,
      tags,
      { ...requestBase(llm, runName, extraParams, metadata), messages: prompt },
      { model: requestedModelOf(metadata, extraParams), provider: providerOf(llm, metadata) },
    )
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
    await this.#modelStart(
      runId,
      [new HumanMessage(prompt)],
      tags,
      { ...requestBase(llm, runName, extraParams, metadata), prompt },
      { model: requestedModelOf(metadata, extraParams), provider: providerOf(llm, metadata) },
    )
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
    if (!model || !this.active) return
    const chunk = fields?.chunk
    const message = chunk && 'message' in chunk ? chunk.message : undefined
    const outputTokens = (message as { usage_metadata?: { output_tokens?: unknown } } | undefined)
      ?.usage_metadata?.output_tokens
    if (model.startOutputTokens === undefined && typeof outputTokens === 'number')
      model.startOutputTokens = outputTokens
    if (model.noStream) return
    const { text, reasoning } = message ? partsOf(message) : { text: token, reasoning: '' }
    if (reasoning !== '') {
      model.streamedReasoning = true
      this.context.emit({ type: 'reasoning-delta', text: reasoning })
    }
    if (text !== '') {
      model.streamedText = true
      this.context.emit({ type: 'text-delta', text })
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
    if (type === 'text' && typeof block?.text === 'string' && block.text !== '') {
      model.streamedText = true
      this.context.emit({ type: 'text-delta', text: block.text })
    } else if (type === 'reasoning' && typeof block?.reasoning === 'string' && block.reasoning !== '') {
      model.streamedReasoning = true
      this.context.emit({ type: 'reasoning-delta', text: block.reasoning })
    }
  }

  override async handleLLMEnd(output: LLMResult, runId: string): Promise<void> {
    const model = this.#models.get(runId)
    this.#models.delete(runId)
    if (!model || !this.active) return
    const { context } = this
    const generation = output.generations?.[0]?.[0]
    const message = generation && 'message' in generation ? (generation.message as unknown) : undefined
    // Before the graph adds the answer to its state, where a repeated id would replace an earlier message.
    keepAnswerIdUnique(message, model.givenIds, runId)
    const { text, reasoning } = message ? partsOf(message) : { text: generation?.text ?? '', reasoning: '' }
    const reported = usageOf(
      (message as { usage_metadata?: unknown } | undefined)?.usage_metadata,
      output.llmOutput,
    )
    const usage = reported && withoutAnthropicStartTokens(reported, message, model.startOutputTokens)
    if (usage) context.addUsage(usage)
    for (const [id, raw] of answerInvalidToolCalls(message)) this.invalidArguments.set(id, raw)
    // A model that does not stream (or a run that is not streamed) still shows its answer once.
    if (!model.noStream && reasoning !== '' && !model.streamedReasoning)
      context.emit({ type: 'reasoning-delta', text: reasoning })
    if (!model.noStream && text !== '' && !model.streamedText) context.emit({ type: 'text-delta', text })
    this.lastAnswer = message ?? text
    const answered = answerInfoOf(message, generation?.generationInfo)
    const answeredModel = answered.model ?? model.model
    await context.hooks
      .modelCallEnd({
        response: message ?? output,
        text,
        toolCalls: toolCallsOf(message),
        ...(usage ? { usage } : {}),
        ...(answeredModel !== undefined ? { model: answeredModel } : {}),
        ...(model.provider !== undefined ? { provider: model.provider } : {}),
        ...(answered.finishReasons ? { finishReasons: answered.finishReasons } : {}),
      })
      .catch(failedAlready)
    if (this.#onModelEnd && this.active) {
      await this.#onModelEnd().catch((error: unknown) => {
        context.fail(error)
      })
    }
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
    if (!this.active || this.wrappedRuns.has(runId)) return
    const call: ToolCallInfo = {
      toolCallId: toolCallId ?? runId,
      toolName: nameOf(tool, runName),
      input: parseToolInput(input),
    }
    const begun = await beginToolCall(this.context, call).catch(failedAlready)
    if (!begun) return
    this.#tools.set(runId, begun)
    const rewritten = begun.refused === undefined && !Object.is(begun.input, call.input)
    if (begun.refused !== undefined || rewritten) {
      this.context.fail(
        new CapabilityUnsupportedError(
          'toolHooks',
          `tool "${call.toolName}" is not wrapped, so onToolCallStart cannot ${rewritten ? 'rewrite' : 'deny'} its call and the run was stopped. Pass the agent's tools through runner.wrapTools([...]) (runner.tools.reportStatus is wrapped already).`,
        ),
      )
    }
  }

  override async handleToolEnd(output: unknown, runId: string): Promise<void> {
    const begun = this.#toolEnded(runId)
    if (!begun) return
    const { output: value, isError } = toolOutputOf(output)
    await begun.end(value, isError).catch(failedAlready)
  }

  override async handleToolError(error: unknown, runId: string): Promise<void> {
    await this.#toolEnded(runId)?.fail(error).catch(failedAlready)
  }

  override async handleCustomEvent(_eventName: string, data: unknown): Promise<void> {
    if (!this.active) return
    const status = statusOf(data)
    if (!status) return
    // A status the activity refuses (a percentage out of range) is a bug in the agent: the run fails.
    await this.context.report(status.message, status.percentage).catch((error: unknown) => {
      this.context.fail(error)
    })
  }

  async #modelStart(
    runId: string,
    prompt: BaseMessage[],
    tags: string[] | undefined,
    request: unknown,
    called: { model: string | undefined; provider: string | undefined },
  ) {
    if (!this.active) return
    const { context } = this
    if (this.#onWrapUp && context.nextTurn()?.wrapUp) {
      // maxTurnsRecovery: this call is stopped; the runner asks the model to wrap up, without tools.
      this.#onWrapUp(prompt)
      return
    }
    // Past the limit, startTurn fails the attempt (MaxTurnsExceededError): its signal stops this call.
    const turn = await context.startTurn().catch(failedAlready)
    if (!turn) return
    const noStream = (tags ?? []).some((tag) => noStreamTags.includes(tag))
    this.#models.set(runId, {
      noStream,
      streamedText: false,
      streamedReasoning: false,
      givenIds: messageIdsOf(prompt),
      model: called.model,
      provider: called.provider,
    })
    const started: { request: unknown; model?: string; provider?: string } = { request }
    if (called.model !== undefined) started.model = called.model
    if (called.provider !== undefined) started.provider = called.provider
    await context.hooks.modelCallStart(started).catch(failedAlready)
  }

  /** The begun call of an unwrapped tool that ended, unless the call is over. */
  #toolEnded(runId: string): BegunToolCall | undefined {
    const begun = this.#tools.get(runId)
    this.#tools.delete(runId)
    return begun && this.active ? begun : undefined
  }
}
