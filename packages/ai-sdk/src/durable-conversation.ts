import { type RunContext, RunNotResumableError } from '@runner/core'
import { deniedToolText, errorMessage } from '@runner/core/adapter'
import type { JsonValue, PendingRequestInput } from '@runner/core/store'
import type {
  AssistantModelMessage,
  ContentPart,
  ModelMessage,
  ToolApprovalResponse,
  ToolModelMessage,
  ToolSet,
} from 'ai'
import { type AISDKInput, type AISDKPrompt, promptOf } from './input.js'

/**
 * The `state` of an `AISDKRunner` checkpoint (JSON), what a resumed run continues from. The
 * conversation is kept as the AI SDK's own `ModelMessage`s, as `generateText` takes them.
 */
export interface AISDKCheckpointState {
  /**
   * The conversation so far: the prompt (as the AI SDK got it, a ToolLoopAgent's `prepareCall`
   * applied), then the response messages (assistant and tool), including the approval requests
   * and, once decided, a tool message with the approval responses. Binary file data is base64.
   */
  messages: ModelMessage[]
  /** How many of `messages` are the prompt; the rest is the run's response. */
  promptCount: number
  /**
   * The model's answer whose tool calls were running when the checkpoint was written (written
   * before they run): a resumed run replays it without a model request and runs its calls again,
   * those in the journal replayed rather than run.
   */
  answer?: AssistantModelMessage
  /** A ToolLoopAgent's call options (`{ prompt, options }` input), given to it again on resume. */
  callOptions?: JsonValue
  /** Inputs people gave when approving a call (`approve(..., { input })`), by tool call id. */
  editedInputs?: Record<string, JsonValue>
}

/** The reason the model reads for a denial that gave none (the same as core's tool loop). */
const defaultDenialReason = 'a person denied it'

/** An approval request of the conversation that has no response yet. */
interface OpenApproval {
  approvalId: string
  toolCallId: string
  toolName: string
  input: unknown
  reason?: string
}

/**
 * The durable side of one attempt: what the AI SDK's loop is checkpointed with, what a resumed
 * run starts from, and the waits for approvals.
 * - A fresh run starts from its input; a resumed one from `context.resumed.state`
 *   (`AISDKCheckpointState`): its messages, the approval responses of the decisions appended.
 * - After each model answer that calls tools, before they run, the conversation and the answer are
 *   checkpointed (`modelAnswered`): one store write per tool-calling turn, the messages kept as
 *   they are (only binary data is converted, for JSON).
 * - When the loop stopped on tool approval requests, the run suspends (`suspendIfWaiting`).
 */
export class DurableConversation {
  readonly #context: RunContext
  #promptCount: number | undefined
  /** The messages the generation started from (the AI SDK's `initialMessages`). */
  #initialMessages: ReadonlyArray<ModelMessage> = []
  /** The messages of the current step before the model answered (the AI SDK's `messages` in `prepareStep`). */
  #stepMessages: ReadonlyArray<ModelMessage> = []
  /** The answer to replay as the first step of a resumed run. */
  #answer: AssistantModelMessage | undefined
  readonly #callOptions: JsonValue | undefined
  readonly #editedInputs: Record<string, JsonValue>
  /** The text of each call denied with this resume's decisions, by tool call id. */
  readonly #denied = new Map<string, string>()

  private constructor(
    context: RunContext,
    from: {
      promptCount?: number
      answer?: AssistantModelMessage
      callOptions?: unknown
      editedInputs?: Record<string, JsonValue>
    },
  ) {
    this.#context = context
    this.#promptCount = from.promptCount
    this.#answer = from.answer
    this.#callOptions = from.callOptions as JsonValue | undefined
    this.#editedInputs = { ...from.editedInputs }
  }

  /**
   * The conversation of an attempt and what the AI SDK starts from: the input, or for a resumed
   * run its checkpoint's messages. Approval requests that wait for an answer get the decisions as
   * a tool message of `tool-approval-response` parts (approved, or denied with the reason), which
   * is checkpointed at once; a denial fires `onToolCallEnd` with `Tool call denied: <reason>`.
   * Requests without a decision (a run that stopped before it recorded the ones it resumed with)
   * suspend the run again.
   */
  static async open(
    context: RunContext,
    input: AISDKInput | undefined,
  ): Promise<{ conversation: DurableConversation; prompt: AISDKPrompt }> {
    const resumed = context.resumed
    if (!resumed) {
      const prompt = promptOf(input as AISDKInput)
      return { conversation: new DurableConversation(context, { callOptions: prompt.options }), prompt }
    }
    const state = readState(context.agentId, resumed.state)
    const conversation = new DurableConversation(context, state)
    let messages = state.messages
    const open = openApprovals(messages)
    if (open.length > 0) messages = await conversation.#withDecisions(messages, open)
    const prompt: AISDKPrompt = {
      messages,
      ...(state.callOptions === undefined ? {} : { options: state.callOptions }),
    }
    return { conversation, prompt }
  }

  /** The input a person gave when approving `toolCallId`, if they changed the model's. */
  editedInput(toolCallId: string): unknown {
    return Object.hasOwn(this.#editedInputs, toolCallId) ? this.#editedInputs[toolCallId] : undefined
  }

  /** The text of a call a person denied when the run resumed (`Tool call denied: <reason>`). */
  deniedText(toolCallId: string): string | undefined {
    return this.#denied.get(toolCallId)
  }

  /** A step starts (`prepareStep`): the messages it is asked with, and the generation's first ones. */
  stepStarts(options: {
    initialMessages: ReadonlyArray<ModelMessage>
    messages: ReadonlyArray<ModelMessage>
  }): void {
    this.#initialMessages = options.initialMessages
    this.#promptCount ??= options.initialMessages.length
    this.#stepMessages = options.messages
  }

  /** The checkpointed answer to replay, once, as the first step of a resumed run. */
  takeReplay(stepNumber: number): AssistantModelMessage | undefined {
    if (stepNumber !== 0 || !this.#answer) return undefined
    const answer = this.#answer
    this.#answer = undefined
    return answer
  }

  /**
   * The model answered (`onLanguageModelCallEnd`, before the AI SDK runs the tools): an answer
   * that calls tools is checkpointed with the conversation before it.
   */
  async modelAnswered(content: ReadonlyArray<ContentPart<ToolSet>>): Promise<void> {
    if (!this.#context.durable) return
    if (!content.some((part) => part.type === 'tool-call' && !part.providerExecuted)) return
    await this.#context.checkpoint(this.#state(this.#stepMessages, assistantMessageOf(content)))
  }

  /**
   * The response messages of the run, those before a resume included: the AI SDK's
   * `responseMessages` of this generation, after the ones the checkpoint held.
   */
  responseMessages<T extends ModelMessage>(ofGeneration: T[]): T[] {
    const earlier = this.#initialMessages.slice(this.#promptCount ?? this.#initialMessages.length)
    return earlier.length === 0 ? ofGeneration : [...(earlier as T[]), ...ofGeneration]
  }

  /**
   * After the generation: when its last step stopped on tool approval requests (`needsApproval`,
   * `toolApproval: 'user-approval'`), the run suspends until a person decides, with the whole
   * conversation (the other calls of the step ran and are in it).
   */
  async suspendIfWaiting(
    lastStep: { content: ReadonlyArray<ContentPart<ToolSet>> } | undefined,
    responseMessages: ReadonlyArray<ModelMessage>,
  ): Promise<void> {
    const requests: PendingRequestInput[] = []
    for (const part of lastStep?.content ?? []) {
      if (part.type !== 'tool-approval-request' || part.isAutomatic) continue
      requests.push(pendingRequestOf({ ...part.toolCall, approvalId: part.approvalId, reason: part.reason }))
    }
    if (requests.length === 0) return
    const prompt = this.#initialMessages.slice(0, this.#promptCount ?? this.#initialMessages.length)
    await this.#context.suspend(requests, this.#state([...prompt, ...responseMessages]))
  }

  /** The decisions as approval responses appended to `messages`, checkpointed. */
  async #withDecisions(messages: ModelMessage[], open: OpenApproval[]): Promise<ModelMessage[]> {
    const context = this.#context
    const decided = open.map((request) => ({ request, decision: context.decision(request.toolCallId) }))
    if (decided.some(({ decision }) => decision === undefined)) {
      await context.suspend(open.map(pendingRequestOf), this.#state(messages))
    }
    const responses: ToolApprovalResponse[] = []
    const denials: Array<{ request: OpenApproval; reason: string }> = []
    for (const { request, decision } of decided) {
      if (decision?.type === 'approve') {
        responses.push({
          type: 'tool-approval-response',
          approvalId: request.approvalId,
          approved: true,
          ...(decision.reason ? { reason: decision.reason } : {}),
        })
        if (decision.input !== undefined) this.#editedInputs[request.toolCallId] = decision.input
        continue
      }
      const reason = decision?.type === 'deny' && decision.reason ? decision.reason : defaultDenialReason
      responses.push({
        type: 'tool-approval-response',
        approvalId: request.approvalId,
        approved: false,
        reason,
      })
      denials.push({ request, reason })
    }
    const response: ToolModelMessage = { role: 'tool', content: responses }
    const answered = [...messages, response]
    // From here the decisions are part of the conversation: a run that stops later continues with them.
    await context.checkpoint(this.#state(answered))
    for (const { request, reason } of denials) {
      this.#denied.set(request.toolCallId, deniedToolText(reason))
      await context.hooks.toolCallEnd({
        toolCallId: request.toolCallId,
        toolName: request.toolName,
        input: request.input,
        output: deniedToolText(reason),
        isError: true,
        durationMs: 0,
      })
    }
    return answered
  }

  #state(messages: ReadonlyArray<ModelMessage>, answer?: AssistantModelMessage): JsonValue {
    const state: AISDKCheckpointState = {
      messages: jsonMessages(messages),
      promptCount: this.#promptCount ?? messages.length,
    }
    if (answer) state.answer = jsonMessages([answer])[0] as AssistantModelMessage
    if (this.#callOptions !== undefined) state.callOptions = this.#callOptions
    if (Object.keys(this.#editedInputs).length > 0) state.editedInputs = this.#editedInputs
    return state as unknown as JsonValue
  }
}

/** The checkpoint's state, or `RunNotResumableError` when it is not one this runner wrote. */
function readState(agentId: string, state: JsonValue): AISDKCheckpointState {
  const candidate = state as Partial<AISDKCheckpointState> | null
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    !Array.isArray(candidate.messages) ||
    typeof candidate.promptCount !== 'number'
  ) {
    throw new RunNotResumableError(
      agentId,
      'mismatch',
      'its checkpoint holds no AI SDK conversation ({ messages, promptCount }); it was not written by AISDKRunner. Run it again with its input.',
    )
  }
  return candidate as AISDKCheckpointState
}

/** The approval requests of `messages` (not automatic ones) that have neither a response nor a tool result. */
function openApprovals(messages: ReadonlyArray<ModelMessage>): OpenApproval[] {
  const calls = new Map<string, { toolName: string; input: unknown }>()
  const requests: Array<{ approvalId: string; toolCallId: string; reason?: string }> = []
  const responded = new Set<string>()
  const resulted = new Set<string>()
  for (const message of messages) {
    if (typeof message.content === 'string') continue
    for (const part of message.content) {
      switch (part.type) {
        case 'tool-call':
          calls.set(part.toolCallId, part)
          break
        case 'tool-approval-request':
          if (!part.isAutomatic) requests.push(part)
          break
        case 'tool-approval-response':
          responded.add(part.approvalId)
          break
        case 'tool-result':
          resulted.add(part.toolCallId)
          break
      }
    }
  }
  return requests
    .filter((request) => !responded.has(request.approvalId) && !resulted.has(request.toolCallId))
    .map((request) => {
      const call = calls.get(request.toolCallId)
      return {
        approvalId: request.approvalId,
        toolCallId: request.toolCallId,
        toolName: call?.toolName ?? 'unknown',
        input: call?.input,
        ...(request.reason ? { reason: request.reason } : {}),
      }
    })
}

/** A pending request of the run: the tool call to approve (`id` is its tool call id), the AI SDK's reason as `payload`. */
function pendingRequestOf(call: {
  approvalId?: string
  toolCallId: string
  toolName: string
  input: unknown
  reason?: string | undefined
}): PendingRequestInput {
  return {
    id: call.toolCallId,
    kind: 'approval',
    toolName: call.toolName,
    input: (call.input ?? null) as JsonValue,
    ...(call.reason ? { payload: { reason: call.reason } } : {}),
  }
}

/**
 * A model call's content as the assistant message the checkpoint keeps (the shape of the AI SDK's
 * response messages): text, reasoning, tool calls (input as parsed; the raw text when the model
 * sent input that is not JSON) and provider-executed tool results, with their provider metadata.
 * Files and sources the model returned with tool calls are left out.
 */
function assistantMessageOf(content: ReadonlyArray<ContentPart<ToolSet>>): AssistantModelMessage {
  const parts: Exclude<AssistantModelMessage['content'], string> = []
  for (const part of content) {
    const metadata = 'providerMetadata' in part ? part.providerMetadata : undefined
    const providerOptions = metadata === undefined ? {} : { providerOptions: metadata }
    switch (part.type) {
      case 'text':
        if (part.text !== '' || metadata !== undefined)
          parts.push({ type: 'text', text: part.text, ...providerOptions })
        break
      case 'reasoning':
        parts.push({ type: 'reasoning', text: part.text, ...providerOptions })
        break
      case 'tool-call':
        parts.push({
          type: 'tool-call',
          toolCallId: part.toolCallId,
          toolName: part.toolName,
          input: part.input,
          ...(part.providerExecuted ? { providerExecuted: true } : {}),
          ...providerOptions,
        })
        break
      case 'tool-result':
      case 'tool-error':
        if (!part.providerExecuted) break
        parts.push({
          type: 'tool-result',
          toolCallId: part.toolCallId,
          toolName: part.toolName,
          output:
            part.type === 'tool-result'
              ? { type: 'json', value: (part.output ?? null) as JsonValue }
              : { type: 'error-json', value: errorMessage(part.error) },
          ...providerOptions,
        })
        break
    }
  }
  return { role: 'assistant', content: parts }
}

/**
 * The messages as JSON can hold them: binary file and image data (`Uint8Array`, `ArrayBuffer`,
 * `Buffer`) as base64, `URL`s as their text, which the AI SDK reads back the same. Messages
 * without binary data are kept as they are (no copy).
 */
export function jsonMessages(messages: ReadonlyArray<ModelMessage>): ModelMessage[] {
  return messages.map((message) => {
    if (typeof message.content === 'string') return message
    let changed = false
    const content = (message.content as ReadonlyArray<Record<string, unknown>>).map((part) => {
      const json = jsonPart(part)
      if (json !== part) changed = true
      return json
    })
    return changed ? ({ ...message, content } as ModelMessage) : message
  })
}

function jsonPart(part: Record<string, unknown>): Record<string, unknown> {
  for (const field of ['image', 'data'] as const) {
    if (!(field in part)) continue
    const value = jsonData(part[field])
    if (value !== part[field]) return { ...part, [field]: value }
  }
  const output = part.output as { type?: string; value?: unknown } | undefined
  if (part.type === 'tool-result' && output?.type === 'content' && Array.isArray(output.value)) {
    let changed = false
    const value = output.value.map((item: Record<string, unknown>) => {
      const json = typeof item === 'object' && item !== null ? jsonPart(item) : item
      if (json !== item) changed = true
      return json
    })
    if (changed) return { ...part, output: { ...output, value } }
  }
  return part
}

function jsonData(value: unknown): unknown {
  if (value instanceof URL) return value.href
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')
  if (value instanceof ArrayBuffer) return Buffer.from(value).toString('base64')
  if (typeof value === 'object' && value !== null) {
    const tagged = value as { type?: unknown; data?: unknown; url?: unknown }
    if (tagged.type === 'data' && typeof tagged.data !== 'string')
      return { ...tagged, data: jsonData(tagged.data) }
    if (tagged.type === 'url' && tagged.url instanceof URL) return tagged.url.href
  }
  return value
}
