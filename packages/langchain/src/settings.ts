import type { BaseLanguageModelInput } from '@langchain/core/language_models/base'
import type { BaseMessage } from '@langchain/core/messages'
import type { Runnable } from '@langchain/core/runnables'
import { InvalidOptionsError, type RunnerOptions } from '@runner/core'
import type { LangChainOutput } from './agent.js'

/** A chat model without tools, as the wrap-up turn calls it. */
export type WrapUpModel = Pick<Runnable<BaseLanguageModelInput, BaseMessage>, 'invoke' | 'streamEvents'>

/**
 * Options of `new LangChainRunner(...)`: this runner's own, and every option of `@runner/core`'s
 * `RunnerOptions` (the runner's defaults for each run: `activity`, `name`, `prompts`, `hooks`,
 * `maxTurns`, `maxTurnsRecovery`, `recoveryTurns`, `retry`, `timeoutMs`, `metadata`,
 * `recordTrajectory`, `includeNative`).
 */
export interface LangChainRunnerSettings extends RunnerOptions<LangChainOutput> {
  /**
   * LangGraph super-steps per model turn, for the `recursionLimit` of each run
   * (`stepsPerTurn × (maxTurns + 1)`, see the README). Default: 2 (a model node and a tools
   * node); for a `createAgent` agent, 2 plus one per `beforeModel` / `afterModel` middleware hook.
   * Raise it for a graph that runs more nodes between two model calls.
   */
  stepsPerTurn?: number
  /**
   * The chat model (without tools) that writes the wrap-up answer of `maxTurnsRecovery` for
   * agents whose model the runner cannot find: anything but a `createAgent` agent (whose own
   * model is used). Without it, such an agent reaching the turn limit with `maxTurnsRecovery`
   * fails with `CapabilityUnsupportedError`. Default: none.
   */
  wrapUpModel?: WrapUpModel
}

/** The settings taken apart: what `@runner/core` validates, and this runner's own. */
export interface SplitSettings {
  runnerOptions: RunnerOptions<LangChainOutput>
  stepsPerTurn: number | undefined
  wrapUpModel: WrapUpModel | undefined
}

function refuse(field: string, message: string): never {
  throw new InvalidOptionsError([{ field, message }], { subject: 'runner options' })
}

/** Takes this runner's options out (the rest is validated by `BaseAgentRunner`: an unknown option is refused there). */
export function splitSettings(settings: LangChainRunnerSettings): SplitSettings {
  const { stepsPerTurn, wrapUpModel, ...runnerOptions } = settings
  if (
    stepsPerTurn !== undefined &&
    (!Number.isInteger(stepsPerTurn) || stepsPerTurn < 1 || stepsPerTurn > 100)
  ) {
    refuse('stepsPerTurn', 'must be an integer from 1 to 100')
  }
  if (
    wrapUpModel !== undefined &&
    (typeof wrapUpModel !== 'object' ||
      wrapUpModel === null ||
      typeof wrapUpModel.invoke !== 'function' ||
      typeof wrapUpModel.streamEvents !== 'function')
  ) {
    refuse(
      'wrapUpModel',
      'must be a LangChain chat model (new ChatOpenAI(...), for instance), without tools bound',
    )
  }
  return { runnerOptions, stepsPerTurn, wrapUpModel }
}
