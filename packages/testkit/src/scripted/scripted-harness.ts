import type { HarnessOptions, RunnerHarness } from '../conformance/types.js'
import { type ScriptedAgent, type ScriptedRequest, ScriptedRunner, scriptedAgent } from './scripted-runner.js'

/** The conformance harness of `ScriptedRunner`: the reference every other harness can be compared with. */
export function scriptedHarness({ runnerOptions }: HarnessOptions): RunnerHarness<ScriptedAgent, string> {
  return {
    runner: new ScriptedRunner(runnerOptions),
    agent(script, tools) {
      const agent = scriptedAgent(script, tools)
      return { agent, player: agent.player }
    },
    input: (prompt) => prompt,
    toolNamesOf: (request) => (request as ScriptedRequest).toolNames,
  }
}
