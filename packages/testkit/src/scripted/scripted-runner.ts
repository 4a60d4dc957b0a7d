import type { AnyToolDefinition } from '@runner/core'
import {
  type ScriptedAgent as CoreScriptedAgent,
  type ScriptedCall,
  ScriptedRunner,
  type ScriptSource,
  type ScriptStep,
} from '@runner/core/test'
import { ScenarioPlayer, waitForTurn } from '../scenario/player.js'
import type { Scenario } from '../scenario/scenario.js'

/** The reference runner (`@runner/core/test`): core's tool loop over a script, nothing else. */
export { ScriptedRunner }

/** The agent of `ScriptedRunner` made by `scriptedAgent`: the scenario's player, as the model, and the tools. */
export interface ScriptedAgent extends CoreScriptedAgent {
  /** The player of the scenario: what the model was asked (`calls`), `assertDone()`. */
  player: ScenarioPlayer
}

/** What the scripted model is asked on each call (kept on `player.calls`). */
export type ScriptedRequest = ScriptedCall

/** The error a scripted `error(status)` turn throws: it carries `status` like an SDK's API error. */
export class ScriptedModelError extends Error {
  override name = 'ScriptedModelError'
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message)
  }
}

/**
 * A scenario played as a script source: each model call takes the next turn; `error(status)` and
 * `malformed()` throw a `ScriptedModelError`, `hang()` and `slow(ms)` wait (abortably), and
 * `cutStream()` streams half its text before it throws.
 */
export function scenarioSource(player: ScenarioPlayer): ScriptSource {
  return {
    async next(signal, request): Promise<ScriptStep> {
      const turn = player.next(request, { signal })
      await waitForTurn(turn, signal)
      const fault = turn.fault
      if (fault?.type === 'error') throw new ScriptedModelError(fault.message, fault.status)
      if (fault?.type === 'malformed')
        throw new ScriptedModelError('Scripted model returned a malformed answer')
      const step: ScriptStep = {
        text: turn.text,
        toolCalls: turn.toolCalls.map((call) => ({ id: call.id, name: call.name, input: call.input })),
        usage: { ...turn.usage, totalTokens: turn.usage.inputTokens + turn.usage.outputTokens },
        ...(turn.reasoning === undefined ? {} : { reasoning: turn.reasoning }),
      }
      if (fault?.type === 'cut-stream') {
        const pieces = turn.text.match(/[\s\S]{1,8}/g) ?? []
        step.text = pieces.slice(0, Math.ceil(pieces.length / 2)).join('')
        step.errorAfterText = new ScriptedModelError('Scripted stream was cut in the middle of the answer')
      }
      return step
    },
  }
}

/** Builds the `ScriptedRunner` agent that plays `scenario` with these tools. */
export function scriptedAgent(scenario: Scenario, tools: AnyToolDefinition[] = []): ScriptedAgent {
  const player = new ScenarioPlayer(scenario)
  return { model: scenarioSource(player), player, tools }
}
