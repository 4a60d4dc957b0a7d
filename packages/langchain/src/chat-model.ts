import type { Runnable, RunnableConfig } from '@langchain/core/runnables'
import { InvalidOptionsError } from '@runner/core'

/**
 * The chat model (bare, or with tools bound) with its own request retries off: a binding that
 * gives every call `maxRetries: 0`, the call option `ChatOpenAI`, `ChatAnthropic` and the other
 * integrations pass to their `AsyncCaller`. The model itself is not changed.
 */
export function withoutOwnRetries<RunInput, RunOutput, CallOptions extends RunnableConfig>(
  model: Runnable<RunInput, RunOutput, CallOptions>,
): Runnable<RunInput, RunOutput, CallOptions> {
  if (typeof (model as Partial<Runnable> | null | undefined)?.withConfig !== 'function') {
    throw new InvalidOptionsError(
      [
        {
          field: 'model',
          message:
            'must be a LangChain chat model (new ChatOpenAI(...), model.bindTools(tools)); resolve a model name first with initChatModel',
        },
      ],
      { subject: 'chat model' },
    )
  }
  return model.withConfig({ maxRetries: 0 } as unknown as Partial<CallOptions>)
}
