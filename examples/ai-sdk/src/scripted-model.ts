import { type Scenario, ScenarioPlayer, waitForTurn } from '@runner/testkit'
import { MockLanguageModelV4 } from 'ai/test'

type StreamResult = Awaited<ReturnType<MockLanguageModelV4['doStream']>>
type StreamPart = StreamResult['stream'] extends ReadableStream<infer Part> ? Part : never
type GenerateResult = Awaited<ReturnType<MockLanguageModelV4['doGenerate']>>

/**
 * A model that needs no key: the AI SDK's own `MockLanguageModelV4` (from `ai/test`) playing a
 * test-kit scenario, one scripted turn per model call, its text streamed word by word with
 * `chunkDelayMs` between words. The AI SDK, the agent and the runner around it are the real ones.
 */
export function scriptedModel(
  script: Scenario,
  options: { chunkDelayMs?: number } = {},
): MockLanguageModelV4 {
  const player = new ScenarioPlayer(script, 'scripted-researcher')
  const chunkDelayMs = options.chunkDelayMs ?? 30
  return new MockLanguageModelV4({
    provider: 'scripted',
    modelId: 'scripted-researcher',
    async doGenerate({ abortSignal, ...request }) {
      const turn = player.next(request, { signal: abortSignal ?? new AbortController().signal })
      if (abortSignal) await waitForTurn(turn, abortSignal)
      return {
        content: [
          ...(turn.text ? [{ type: 'text' as const, text: turn.text }] : []),
          ...turn.toolCalls.map((call) => ({
            type: 'tool-call' as const,
            toolCallId: call.id,
            toolName: call.name,
            input: JSON.stringify(call.input),
          })),
        ],
        finishReason: { unified: turn.toolCalls.length > 0 ? 'tool-calls' : 'stop', raw: undefined },
        usage: usageOf(turn.usage),
        warnings: [],
      } satisfies GenerateResult
    },
    async doStream({ abortSignal, ...request }) {
      const turn = player.next(request, { signal: abortSignal ?? new AbortController().signal })
      if (abortSignal) await waitForTurn(turn, abortSignal)
      const parts: StreamPart[] = [{ type: 'stream-start', warnings: [] }]
      if (turn.text) {
        parts.push({ type: 'text-start', id: 'text' })
        for (const word of turn.text.match(/\S+\s*/g) ?? [])
          parts.push({ type: 'text-delta', id: 'text', delta: word })
        parts.push({ type: 'text-end', id: 'text' })
      }
      for (const call of turn.toolCalls) {
        parts.push({
          type: 'tool-call',
          toolCallId: call.id,
          toolName: call.name,
          input: JSON.stringify(call.input),
        })
      }
      parts.push({
        type: 'finish',
        finishReason: { unified: turn.toolCalls.length > 0 ? 'tool-calls' : 'stop', raw: undefined },
        usage: usageOf(turn.usage),
      })
      let index = 0
      return {
        stream: new ReadableStream<StreamPart>({
          async pull(controller) {
            if (abortSignal?.aborted) return controller.error(abortSignal.reason)
            const part = parts[index++]
            if (!part) return controller.close()
            if (part.type === 'text-delta' && chunkDelayMs > 0) {
              await new Promise((resolve) => setTimeout(resolve, chunkDelayMs))
            }
            controller.enqueue(part)
          },
        }),
      } satisfies StreamResult
    },
  })
}

function usageOf(usage: { inputTokens: number; outputTokens: number; cachedInputTokens?: number }) {
  const cached = usage.cachedInputTokens ?? 0
  return {
    inputTokens: {
      total: usage.inputTokens,
      noCache: usage.inputTokens - cached,
      cacheRead: cached,
      cacheWrite: undefined,
    },
    outputTokens: { total: usage.outputTokens, text: usage.outputTokens, reasoning: undefined },
  }
}
