import {
  type AssistantModelMessage,
  type LanguageModel,
  type LanguageModelMiddleware,
  wrapLanguageModel,
} from 'ai'
import { resolveModel } from './model-requests.js'

type WrapGenerate = NonNullable<LanguageModelMiddleware['wrapGenerate']>
type WrapStream = NonNullable<LanguageModelMiddleware['wrapStream']>
type GenerateResult = Awaited<ReturnType<WrapGenerate>>
type StreamResult = Awaited<ReturnType<WrapStream>>
type Content = GenerateResult['content'][number]
type StreamPart = StreamResult['stream'] extends ReadableStream<infer T> ? T : never

const noUsage = {
  inputTokens: { total: 0, noCache: 0, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 0, text: 0, reasoning: 0 },
} as GenerateResult['usage']

const toolCallsFinish = { unified: 'tool-calls', raw: undefined } as GenerateResult['finishReason']

/**
 * A model that answers once with `answer`, the checkpointed answer of a model call whose tool
 * calls were running when the run stopped, without a request: the AI SDK then runs that answer's
 * tool calls as it did the first time (journaled ones are replayed, not run), and the loop goes on.
 * Its usage is 0 (the call was counted before the checkpoint); provider and model id are `model`'s.
 */
export function replayModel(model: LanguageModel, answer: AssistantModelMessage): LanguageModel {
  const content = contentOf(answer)
  return wrapLanguageModel({
    model: resolveModel(model),
    middleware: {
      wrapGenerate: async () =>
        ({ content, finishReason: toolCallsFinish, usage: noUsage, warnings: [] }) as GenerateResult,
      wrapStream: async () => {
        const parts = streamPartsOf(content)
        return {
          stream: new ReadableStream<StreamPart>({
            start(controller) {
              for (const part of parts) controller.enqueue(part)
              controller.close()
            },
          }),
        } as StreamResult
      },
    },
  })
}

/**
 * The answer's parts as a model's content: text, reasoning (with their provider metadata, such as
 * reasoning signatures), tool calls (input as the JSON text the model sent; a raw string when it
 * sent input that was not JSON) and the results of provider-executed tools.
 */
function contentOf(answer: AssistantModelMessage): Content[] {
  if (typeof answer.content === 'string') return [{ type: 'text', text: answer.content } as Content]
  const content: Content[] = []
  for (const part of answer.content) {
    const options = 'providerOptions' in part ? part.providerOptions : undefined
    const providerMetadata = options === undefined ? {} : { providerMetadata: options }
    switch (part.type) {
      case 'text':
      case 'reasoning':
        content.push({ type: part.type, text: part.text, ...providerMetadata } as Content)
        break
      case 'tool-call':
        content.push({
          type: 'tool-call',
          toolCallId: part.toolCallId,
          toolName: part.toolName,
          input: typeof part.input === 'string' ? part.input : JSON.stringify(part.input ?? {}),
          ...(part.providerExecuted ? { providerExecuted: true } : {}),
          ...providerMetadata,
        } as Content)
        break
      case 'tool-result': {
        const output = part.output as { type: string; value?: unknown }
        content.push({
          type: 'tool-result',
          toolCallId: part.toolCallId,
          toolName: part.toolName,
          result: output.value ?? null,
          ...(output.type.startsWith('error') ? { isError: true } : {}),
          ...providerMetadata,
        } as Content)
        break
      }
    }
  }
  return content
}

/** The same content as a stream: each text and reasoning part whole, in one delta. */
function streamPartsOf(content: Content[]): StreamPart[] {
  const parts: StreamPart[] = [{ type: 'stream-start', warnings: [] } as StreamPart]
  content.forEach((part, index) => {
    if (part.type === 'text' || part.type === 'reasoning') {
      const id = `${part.type}-${index}`
      const metadata = part.providerMetadata === undefined ? {} : { providerMetadata: part.providerMetadata }
      parts.push({ type: `${part.type}-start`, id } as StreamPart)
      parts.push({ type: `${part.type}-delta`, id, delta: part.text } as StreamPart)
      parts.push({ type: `${part.type}-end`, id, ...metadata } as StreamPart)
    } else {
      parts.push(part as StreamPart)
    }
  })
  parts.push({ type: 'finish', finishReason: toolCallsFinish, usage: noUsage } as StreamPart)
  return parts
}
