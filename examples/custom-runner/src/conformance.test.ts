import { runnerConformanceSuite, ScenarioPlayer } from '@runner/testkit'
import { toTinyTool } from './convert-tools.ts'
import { scenarioModel } from './scenario-model.ts'
import { TinyAgent, type TinyRequest } from './tiny-framework.ts'
import { TinyRunner } from './tiny-runner.ts'

// Every case of the contract, with every feature (streaming, maxTurnsRecovery, toolHooks).
runnerConformanceSuite({
  name: 'TinyRunner',
  createHarness: ({ runnerOptions }) => ({
    runner: new TinyRunner(runnerOptions),
    agent(scenario, tools) {
      const player = new ScenarioPlayer(scenario)
      const agent = new TinyAgent({
        name: 'conformance',
        instructions: 'You are a research assistant.',
        model: scenarioModel(player),
        // The suite's neutral tools become TinyTools; the runner converts them back.
        tools: tools.map(toTinyTool),
      })
      return { agent, player }
    },
    input: (prompt) => prompt,
    // Lets the suite check that the wrap-up turn offers no tools.
    toolNamesOf: (request) => (request as TinyRequest).tools.map((tool) => tool.name),
  }),
})
