/**
 * The AI SDK's own test double (`MockLanguageModelV4` from `ai/test`), scripted like the protocol
 * fake: a `search` call, then the answer, for as many runs as asked (the turn is chosen from the
 * prompt, so runs never share state); or one long streamed text. It answers at once: the ratio is
 * the libraries' own CPU time.
 */
import { MockLanguageModelV4 } from 'ai/test'
import { ANSWER } from '../lib/fixtures.ts'

type GenerateResult = Awaited<ReturnType<MockLanguageModelV4['doGenerate']>>
type StreamPart =
  Awaited<ReturnType<MockLanguageModelV4['doStream']>>['stream'] extends ReadableStream<infer Part>
    ? Part
    : never

const usage: GenerateResult['usage'] = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
}

let calls = 0

/** Two-turn tool runs: a tool call unless the last prompt message is a tool result, then the answer. */
export function toolThenTextModel(): MockLanguageModelV4 {
  return new MockLanguageModelV4({
    doGenerate: async (options): Promise<GenerateResult> => {
      if (options.prompt.at(-1)?.role === 'tool') {
        return {
          content: [{ type: 'text', text: ANSWER }],
          finishReason: { unified: 'stop', raw: 'stop' },
          usage,
          warnings: [],
        }
      }
      return {
        content: [
          {
            type: 'tool-call',
            toolCallId: `call_${++calls}`,
            toolName: 'search',
            input: '{"query":"sea otters"}',
          },
        ],
        finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
        usage,
        warnings: [],
      }
    },
  })
}

/** One streamed answer of `words` words, one delta per word. */
export function longTextModel(words: number): MockLanguageModelV4 {
  const deltas = Array.from({ length: words }, (_, index) => (index === 0 ? 'w0' : ` w${index}`))
  return new MockLanguageModelV4({
    doStream: async () => ({
      stream: new ReadableStream<StreamPart>({
        start(controller) {
          controller.enqueue({ type: 'stream-start', warnings: [] })
          controller.enqueue({ type: 'text-start', id: 't' })
          for (const delta of deltas) controller.enqueue({ type: 'text-delta', id: 't', delta })
          controller.enqueue({ type: 'text-end', id: 't' })
          controller.enqueue({ type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage })
          controller.close()
        },
      }),
    }),
  })
}
