import { ChatOpenAI } from '@langchain/openai'
import {
  type HarnessOptions,
  ScenarioPlayer as Player,
  type RecordedRequest,
  type RunnerHarness,
  runnerConformanceSuite,
  type ScenarioPlayer,
  startProtocolFake,
} from '@runner/testkit'
import { createAgent } from 'langchain'
import type { LangChainAgent, LangChainInput } from './agent.js'
import { LangChainRunner } from './langchain-runner.js'
import { researchAgent, researchGraph, systemPromptOf, toolsOf } from './test-helpers/agents.js'
import { ScenarioChatModel, type ScenarioRequest } from './test-helpers/scenario-chat-model.js'

const toolNamesOf = (request: unknown) => (request as ScenarioRequest).tools

// The whole contract, every feature, on a createAgent agent whose chat model plays the scenario
// (tool calls with ids, usage_metadata, streamed chunks, HTTP errors, hangs, cut streams).
// `reopen` gives a resumed run a harness of its own: a new runner over the same store (the graph's
// checkpoints are in the store's document table too).
function createAgentHarness({
  runnerOptions,
}: HarnessOptions): RunnerHarness<LangChainAgent, LangChainInput> {
  const runner = new LangChainRunner(runnerOptions)
  return {
    runner,
    agent(scenario, tools) {
      const player = new Player(scenario)
      return { agent: researchAgent(runner, new ScenarioChatModel(player), tools), player }
    },
    input: (prompt) => prompt,
    toolNamesOf,
    reopen: createAgentHarness,
  }
}
runnerConformanceSuite<LangChainAgent, LangChainInput>({
  name: 'LangChainRunner (createAgent)',
  createHarness: createAgentHarness,
})

// The same contract on a hand-built StateGraph (model node + prebuilt ToolNode). Its chat model
// is unknown to the runner, so the wrap-up of maxTurnsRecovery uses the runner's wrapUpModel:
// a scenario model that plays the scenario of the agent made last (the suite's recovery case
// makes one).
function stateGraphHarness({ runnerOptions }: HarnessOptions): RunnerHarness<LangChainAgent, LangChainInput> {
  let latest: ScenarioPlayer | undefined
  const wrapUpModel = new ScenarioChatModel(() => {
    if (!latest) throw new Error('no agent yet')
    return latest
  })
  const runner = new LangChainRunner({ ...runnerOptions, wrapUpModel })
  return {
    runner,
    agent(scenario, tools) {
      const player = new Player(scenario)
      latest = player
      return { agent: researchGraph(runner, new ScenarioChatModel(player), tools), player }
    },
    input: (prompt) => prompt,
    toolNamesOf,
    reopen: stateGraphHarness,
  }
}
runnerConformanceSuite<LangChainAgent, LangChainInput>({
  name: 'LangChainRunner (StateGraph + ToolNode)',
  createHarness: stateGraphHarness,
})

// The same contract on a createAgent agent whose model is a real ChatOpenAI over HTTP, on the
// test kit's OpenAI protocol fake, its own retries off with runner.chatModel: the suite counts
// the requests, so a retry LangChain made by itself would fail it (retry.no-hidden-retries).
async function chatOpenAIHarness({
  runnerOptions,
}: HarnessOptions): Promise<RunnerHarness<LangChainAgent, LangChainInput>> {
  const fake = await startProtocolFake()
  const runner = new LangChainRunner(runnerOptions)
  return {
    runner,
    agent(scenario, tools) {
      const { model, player } = fake.play(scenario)
      const chat = new ChatOpenAI({
        model,
        apiKey: 'test-key',
        configuration: { baseURL: fake.openaiBaseURL },
      })
      return {
        agent: createAgent({
          model: runner.chatModel(chat),
          tools: toolsOf(runner, tools),
          systemPrompt: systemPromptOf(runner),
        }),
        player,
      }
    },
    input: (prompt) => prompt,
    toolNamesOf: (request) =>
      ((request as RecordedRequest).body.tools as Array<{ function: { name: string } }> | undefined)?.map(
        (tool) => tool.function.name,
      ) ?? [],
    close: () => fake.close(),
    reopen: chatOpenAIHarness,
  }
}
runnerConformanceSuite<LangChainAgent, LangChainInput>({
  name: 'LangChainRunner (createAgent + ChatOpenAI over HTTP)',
  createHarness: chatOpenAIHarness,
})
