import { AIMessage } from '@langchain/core/messages'
import type { Scenario } from '@runner/testkit'
import { fakeModel } from 'langchain'

/**
 * LangChain's own fake tool-calling model (`fakeModel()`), loaded with a test-kit scenario: one
 * answer per model call, in order, each with its tool calls (ids included) and its usage, so that
 * the runner sums tokens as it would for a real model. It does not stream: each answer's text
 * arrives as one `text-delta`.
 */
export function scriptedModel(script: Scenario) {
  const model = fakeModel()
  for (const turn of script.turns) {
    model.respond(
      new AIMessage({
        content: turn.text,
        tool_calls: turn.toolCalls.map((call) => ({
          id: call.id,
          name: call.name,
          args: call.input as Record<string, unknown>,
          type: 'tool_call' as const,
        })),
        usage_metadata: {
          input_tokens: turn.usage.inputTokens,
          output_tokens: turn.usage.outputTokens,
          total_tokens: turn.usage.inputTokens + turn.usage.outputTokens,
          ...(turn.usage.cachedInputTokens === undefined
            ? {}
            : { input_token_details: { cache_read: turn.usage.cachedInputTokens } }),
        },
      }),
    )
  }
  return model
}
