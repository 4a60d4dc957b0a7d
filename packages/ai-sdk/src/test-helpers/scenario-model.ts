import type {
  LanguageModelV4CallOptions,
  LanguageModelV4Content,
  LanguageModelV4FinishReason,
  LanguageModelV4StreamPart,
  LanguageModelV4Usage,
} from '@ai-sdk/provider'
import { type ScenarioPlayer, type ScenarioTurn, waitForTurn } from '@runner/testkit'
import { APICallError, JSONParseError } from 'ai'
import { MockLanguageModelV4 } from 'ai/test'

/**
 * The conformance driver: the AI SDK's own `MockLanguageModelV4` playing a test-kit scenario,
 * one turn per model call (`doGenerate` or `doStream`), answering in the LanguageModelV4 shapes
 * and failing the way the AI SDK's providers do:
 * - `error(status)`: `APICallError` with that `statusCode` (the SDK classifies it);
 * - `hang()` / `slow(ms)`: `waitForTurn` with the call's `abortSignal`;
 * - `malformed()`: `APICallError` "Invalid JSON response" (generate), an `error` part with a
 *   `JSONParseError` then a `finish` with finishReason `error` (stream);
 * - `cutStream()`: `APICallError` "Failed to process successful response" caused by
 *   `TypeError: terminated` (generate), or half the text then the stream errors with it (stream).
 * Text streams in pieces of `pieceSize` characters, one part per read.
 */
export function scenarioModel(
  player: ScenarioPlayer,
  options: { pieceSize?: number } = {},
): MockLanguageModelV4 {
  const pieceSize = options.pieceSize ?? 6
  return new MockLanguageModelV4({
    provider: 'scenario',
    modelId: player.label,
    async doGenerate(call) {
      const turn = await play(player, call)
      if (turn.fault?.type === 'cut-stream') throw connectionCut()
      if (turn.fault?.type === 'malformed') throw invalidJson()
      return {
        content: contentOf(turn),
        finishReason: finishReasonOf(turn),
        usage: usageOf(turn),
        warnings: [],
      }
    },
    async doStream(call) {
      const turn = await play(player, call)
      const parts = streamPartsOf(turn, pieceSize)
      const cut = turn.fault?.type === 'cut-stream'
      const signal = call.abortSignal
      let index = 0
      return {
        stream: new ReadableStream<LanguageModelV4StreamPart>({
          async pull(controller) {
            // A provider's body fails when its request is aborted.
            if (signal?.aborted) return controller.error(signal.reason)
            await new Promise((resolve) => setImmediate(resolve))
            const part = parts[index++]
            if (part) controller.enqueue(part)
            else if (cut) controller.error(connectionCut())
            else controller.close()
          },
        }),
      }
    },
  })
}

/** The tool names a recorded request offered (`[]` when it offered none). */
export function toolNamesOf(request: unknown): string[] {
  return ((request as LanguageModelV4CallOptions).tools ?? []).map((tool) => tool.name)
}

async function play(player: ScenarioPlayer, call: LanguageModelV4CallOptions): Promise<ScenarioTurn> {
  const { abortSignal, ...request } = call
  const signal = abortSignal ?? new AbortController().signal
  // The player keeps the request and the call's signal: the suite checks both.
  const turn = player.next(request, { signal })
  await waitForTurn(turn, signal)
  if (turn.fault?.type === 'error') {
    throw new APICallError({
      message: turn.fault.message,
      url: 'https://scenario.invalid/v1/model',
      requestBodyValues: request,
      statusCode: turn.fault.status,
      responseBody: JSON.stringify({ error: { message: turn.fault.message } }),
    })
  }
  return turn
}

function contentOf(turn: ScenarioTurn): LanguageModelV4Content[] {
  return [
    ...(turn.reasoning ? [{ type: 'reasoning' as const, text: turn.reasoning }] : []),
    ...(turn.text ? [{ type: 'text' as const, text: turn.text }] : []),
    ...turn.toolCalls.map((call) => ({
      type: 'tool-call' as const,
      toolCallId: call.id,
      toolName: call.name,
      input: JSON.stringify(call.input),
    })),
  ]
}

function finishReasonOf(turn: ScenarioTurn): LanguageModelV4FinishReason {
  return turn.toolCalls.length > 0
    ? { unified: 'tool-calls', raw: 'tool_calls' }
    : { unified: 'stop', raw: 'stop' }
}

function usageOf(turn: ScenarioTurn): LanguageModelV4Usage {
  const { inputTokens, outputTokens, cachedInputTokens, reasoningTokens } = turn.usage
  return {
    inputTokens: {
      total: inputTokens,
      noCache: inputTokens - (cachedInputTokens ?? 0),
      cacheRead: cachedInputTokens,
      cacheWrite: undefined,
    },
    outputTokens: {
      total: outputTokens,
      text: outputTokens - (reasoningTokens ?? 0),
      reasoning: reasoningTokens,
    },
  }
}

function streamPartsOf(turn: ScenarioTurn, pieceSize: number): LanguageModelV4StreamPart[] {
  const pieces = (text: string) => text.match(new RegExp(`[\\s\\S]{1,${pieceSize}}`, 'g')) ?? []
  const parts: LanguageModelV4StreamPart[] = [
    { type: 'stream-start', warnings: [] },
    { type: 'response-metadata', id: `response-${turn.index}`, modelId: 'scenario' },
  ]
  if (turn.fault?.type === 'malformed') {
    parts.push({ type: 'error', error: jsonParseError() })
    parts.push({ type: 'finish', finishReason: { unified: 'error', raw: undefined }, usage: usageOf(turn) })
    return parts
  }
  if (turn.reasoning) {
    parts.push({ type: 'reasoning-start', id: 'reasoning' })
    for (const delta of pieces(turn.reasoning))
      parts.push({ type: 'reasoning-delta', id: 'reasoning', delta })
    parts.push({ type: 'reasoning-end', id: 'reasoning' })
  }
  const text =
    turn.fault?.type === 'cut-stream' ? turn.text.slice(0, Math.ceil(turn.text.length / 2)) : turn.text
  if (text) {
    parts.push({ type: 'text-start', id: 'text' })
    for (const delta of pieces(text)) parts.push({ type: 'text-delta', id: 'text', delta })
    if (turn.fault?.type !== 'cut-stream') parts.push({ type: 'text-end', id: 'text' })
  }
  if (turn.fault?.type === 'cut-stream') return parts
  for (const call of turn.toolCalls) {
    const input = JSON.stringify(call.input)
    parts.push({ type: 'tool-input-start', id: call.id, toolName: call.name })
    for (const delta of pieces(input)) parts.push({ type: 'tool-input-delta', id: call.id, delta })
    parts.push({ type: 'tool-input-end', id: call.id })
    parts.push({ type: 'tool-call', toolCallId: call.id, toolName: call.name, input })
  }
  parts.push({ type: 'finish', finishReason: finishReasonOf(turn), usage: usageOf(turn) })
  return parts
}

function jsonParseError(): JSONParseError {
  const text = '{"choices": [{"delta": {"content": "an answer cut in the mid'
  try {
    JSON.parse(text)
  } catch (cause) {
    return new JSONParseError({ text, cause })
  }
  return new JSONParseError({ text, cause: new SyntaxError('Unexpected end of JSON input') })
}

function invalidJson(): APICallError {
  return new APICallError({
    message: 'Invalid JSON response',
    url: 'https://scenario.invalid/v1/model',
    requestBodyValues: {},
    statusCode: 200,
    cause: jsonParseError(),
    isRetryable: false,
  })
}

function connectionCut(): APICallError {
  return new APICallError({
    message: 'Failed to process successful response',
    url: 'https://scenario.invalid/v1/model',
    requestBodyValues: {},
    statusCode: 200,
    cause: new TypeError('terminated'),
    isRetryable: true,
  })
}
