import type { HarnessOptions, RunnerHarness } from '../conformance/types.js'
import { type ScriptedAgent, type ScriptedRequest, ScriptedRunner, scriptedAgent } from './scripted-runner.js'

/**
 * The conformance harness of `ScriptedRunner`: the reference every other harness can be compared
 * with. `ScriptedRunner` keeps its durable state in the activity store only, so a second instance
 * (`reopen`) is this harness again, over the tracker the suite gives it.
 */
export function scriptedHarness({ runnerOptions }: HarnessOptions): RunnerHarness<ScriptedAgent, string> {
  return {
    runner: new ScriptedRunner(runnerOptions),
    agent(script, tools) {
      const agent = scriptedAgent(script, tools)
      return { agent, player: agent.player }
    },
    input: (prompt) => prompt,
    toolNamesOf: (request) => (request as ScriptedRequest).toolNames,
    reopen: scriptedHarness,
  }
}
