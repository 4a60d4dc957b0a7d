/**
 * A tiny agent framework, the kind a team writes before it adopts a runner: an agent class, its
 * own tool shape and a chat-model interface. It knows nothing about `@runner/core`, and its names
 * differ from the runner's on purpose (`promptTokens`, arguments as a JSON string, `handler`,
 * `callId`): `TinyRunner` shows the translation.
 */

/** JSON Schema of a tool's arguments: an object whose properties the model fills in. */
export interface TinyParameters {
  type: 'object'
  properties: Record<string, Record<string, unknown>>
  required?: string[]
  [keyword: string]: unknown
}

/** What a tool handler receives besides its arguments. */
export interface TinyToolContext {
  /** Aborts when the caller gives up: stop the work and reject. */
  signal: AbortSignal
  /** The id the model gave this call. */
  callId: string
}

/** A tool of the tiny framework. */
export interface TinyTool<TArgs = Record<string, unknown>> {
  /** Name the model calls. */
  name: string
  /** What the tool does, for the model. */
  description: string
  /** JSON Schema of the arguments, sent to the model. */
  parameters: TinyParameters
  /** Runs the tool with the model's (parsed) arguments; its result is sent back to the model. */
  handler(args: TArgs, context: TinyToolContext): unknown
}

/** A tool as the model sees it: no handler. */
export type TinyToolSpec = Pick<TinyTool, 'name' | 'description' | 'parameters'>

/** A tool call the model asks for. */
export interface TinyToolCall {
  id: string
  name: string
  /** The arguments as the model wrote them: a JSON string, not always valid. */
  arguments: string
}

/** One message of the conversation. */
export type TinyMessage =
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls: TinyToolCall[] }
  | { role: 'tool'; callId: string; content: string }

/** What a model is asked. */
export interface TinyRequest {
  system: string
  messages: TinyMessage[]
  /** Tools the model may call; empty when it must answer with text. */
  tools: TinyToolSpec[]
  /** Aborts the call. */
  signal?: AbortSignal
}

/** Tokens one model call cost, in the framework's own names. */
export interface TinyUsage {
  promptTokens: number
  completionTokens: number
}

/** A model's answer: text and/or tool calls. */
export interface TinyResponse {
  content: string
  toolCalls: TinyToolCall[]
  usage: TinyUsage
}

/** A piece of a streamed answer: text as it comes, then the whole response. */
export type TinyChunk = { type: 'text'; text: string } | { type: 'done'; response: TinyResponse }

/** A chat model: one call per turn; streaming is optional. */
export interface TinyModel {
  complete(request: TinyRequest): Promise<TinyResponse>
  stream?(request: TinyRequest): AsyncIterable<TinyChunk>
}

/** Why a model call failed: an HTTP error, an answer that cannot be read, a stream cut short. */
export type TinyErrorCode = 'http' | 'bad_response' | 'stream_interrupted'

/** The error every TinyModel throws. */
export class TinyModelError extends Error {
  override name = 'TinyModelError'
  /** HTTP status, when the provider answered with one. */
  readonly status: number | undefined
  readonly code: TinyErrorCode

  constructor(message: string, options: { status?: number; code?: TinyErrorCode; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.status = options.status
    this.code = options.code ?? 'http'
  }
}

/** How to build a `TinyAgent`. */
export interface TinyAgentOptions {
  /** Kind of agent (`researcher`, `support`...). */
  name: string
  /** The system prompt. */
  instructions: string
  model: TinyModel
  tools?: TinyTool[]
}

/** An agent: a model, instructions and tools. */
export class TinyAgent {
  readonly name: string
  readonly instructions: string
  readonly model: TinyModel
  readonly tools: readonly TinyTool[]

  constructor(options: TinyAgentOptions) {
    this.name = options.name
    this.instructions = options.instructions
    this.model = options.model
    this.tools = options.tools ?? []
  }
}

/** One scripted answer: text and/or tool calls (arguments as an object, or a raw string). */
export interface ScriptedTinyTurn {
  content?: string
  toolCalls?: Array<{ name: string; arguments: Record<string, unknown> | string }>
  /** Default: about one token per four characters of the request and of the answer. */
  usage?: Partial<TinyUsage>
}

/** A scripted model; it keeps every request it was sent. */
export interface ScriptedTinyModel extends TinyModel {
  readonly requests: Array<Omit<TinyRequest, 'signal'>>
}

/**
 * A deterministic in-process model that answers from a script, one turn per call (an `Error` in
 * the script is thrown by that call). It honours the request's signal and streams word by word.
 */
export function scriptedTinyModel(
  turns: Array<ScriptedTinyTurn | Error>,
  options: { chunkDelayMs?: number } = {},
): ScriptedTinyModel {
  const requests: Array<Omit<TinyRequest, 'signal'>> = []
  const answer = (request: TinyRequest): TinyResponse => {
    const { signal, ...recorded } = request
    signal?.throwIfAborted()
    requests.push(recorded)
    const call = requests.length
    const turn = turns[call - 1]
    if (!turn) throw new TinyModelError(`Scripted model: call ${call} is beyond the script.`)
    if (turn instanceof Error) throw turn
    const content = turn.content ?? ''
    const toolCalls = (turn.toolCalls ?? []).map((toolCall, index) => ({
      id: `call_${call}_${index}`,
      name: toolCall.name,
      arguments:
        typeof toolCall.arguments === 'string' ? toolCall.arguments : JSON.stringify(toolCall.arguments),
    }))
    const tokens = (text: string) => Math.ceil(text.length / 4)
    const usage = {
      promptTokens: tokens(JSON.stringify(recorded)),
      completionTokens: tokens(content + JSON.stringify(toolCalls)),
      ...turn.usage,
    }
    return { content, toolCalls, usage }
  }
  return {
    requests,
    complete: async (request) => answer(request),
    async *stream(request) {
      const response = answer(request)
      for (const text of response.content.match(/\S+\s*/g) ?? []) {
        await sleep(options.chunkDelayMs ?? 0, request.signal)
        yield { type: 'text', text }
      }
      yield { type: 'done', response }
    },
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
