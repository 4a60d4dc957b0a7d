import {
  type HarnessOptions,
  type RunnerHarness,
  runnerConformanceSuite,
  ScenarioPlayer,
} from '@runner/testkit'
import { ToolLoopAgent } from 'ai'
import type { AISDKAgent } from './agent.js'
import { AISDKRunner } from './ai-sdk-runner.js'
import type { AISDKInput } from './input.js'
import { toAISDKTools } from './test-helpers/neutral-tools.js'
import { scenarioModel, toolNamesOf } from './test-helpers/scenario-model.js'

// The whole contract, every feature, once per kind of agent, on the AI SDK's own
// MockLanguageModelV4 playing the scenarios. The agents leave the AI SDK's own retries as the SDK
// sets them (2): the runner switches them off, which retry.no-hidden-retries checks.

// `reopen` gives a resumed run a harness of its own: a new runner over the same store.
function toolLoopHarness({ runnerOptions }: HarnessOptions): RunnerHarness<AISDKAgent, AISDKInput> {
  const runner = new AISDKRunner(runnerOptions)
  return {
    runner,
    agent(scenario, tools) {
      const player = new ScenarioPlayer(scenario)
      const agent = new ToolLoopAgent({
        model: scenarioModel(player),
        instructions: 'You are a research assistant.',
        tools: { report_status: runner.tools.reportStatus, ...toAISDKTools(tools) },
      })
      return { agent, player }
    },
    input: (prompt) => prompt,
    toolNamesOf,
    reopen: toolLoopHarness,
  }
}

function settingsHarness({ runnerOptions }: HarnessOptions): RunnerHarness<AISDKAgent, AISDKInput> {
  return {
    runner: new AISDKRunner(runnerOptions),
    agent(scenario, tools) {
      const player = new ScenarioPlayer(scenario)
      const agent = {
        model: scenarioModel(player),
        instructions: 'You are a research assistant.',
        tools: toAISDKTools(tools),
      }
      return { agent, player }
    },
    input: (prompt) => prompt,
    toolNamesOf,
    reopen: settingsHarness,
  }
}

runnerConformanceSuite<AISDKAgent, AISDKInput>({
  name: 'AISDKRunner (ToolLoopAgent)',
  createHarness: toolLoopHarness,
})
runnerConformanceSuite<AISDKAgent, AISDKInput>({
  name: 'AISDKRunner (generateText / streamText settings)',
  createHarness: settingsHarness,
})
