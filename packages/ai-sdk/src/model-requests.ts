import type { RunContext } from '@runner/core'
import { gateway, type LanguageModel, wrapLanguageModel } from 'ai'

/**
 * For one attempt: a model whose requests go through the run's retry policy
 * (`context.modelRequest`). A request that fails with an error the run retries (a 429, a 5xx, a
 * connection that failed) is repeated in place: same turn, same conversation, no tool runs again;
 * each repeat is logged on the activity (`Retrying (attempt 2 of 3): ...`) and announced with a
 * `retry` event (`restart: false`). A streamed request is repeated until its stream opens; an
 * error inside the stream fails the attempt, which the run restarts unless text was shown.
 * Each model (an agent's, one a `prepareStep` returns) is wrapped once per attempt.
 */
export function requestsInPlace(context: RunContext): (model: LanguageModel) => LanguageModel {
  const wrapped = new Map<LanguageModel, LanguageModel>()
  return (model) => {
    let inPlace = wrapped.get(model)
    if (!inPlace) {
      inPlace = wrapLanguageModel({
        model: resolveModel(model),
        middleware: {
          wrapGenerate: ({ doGenerate }) => context.modelRequest(doGenerate),
          wrapStream: ({ doStream }) => context.modelRequest(doStream),
        },
      })
      wrapped.set(model, inPlace)
      wrapped.set(inPlace, inPlace)
    }
    return inPlace
  }
}

/** A model id resolved as the AI SDK resolves it: the global provider, else the gateway. */
export function resolveModel(model: LanguageModel): Exclude<LanguageModel, string> {
  return typeof model === 'string'
    ? (globalThis.AI_SDK_DEFAULT_PROVIDER ?? gateway).languageModel(model)
    : model
}
