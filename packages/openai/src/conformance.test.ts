import {
  type HarnessOptions,
  type ProtocolFake,
  type RunnerHarness,
  runnerConformanceSuite,
  startProtocolFake,
} from '@runner/testkit'
import type { OpenAIAgent } from './agent.js'
import type { OpenAIInput } from './conversation.js'
import { OpenAIRunner } from './openai-runner.js'
import { fakeClient, toolNamesOf } from './test-helpers/fake-client.js'

// The whole contract, every feature, once per API: a real openai client against the test kit's
// protocol fake (one loopback server per test, closed with the harness).
// A resumed run gets a harness of its own (`reopen`): a new runner over the same store.
for (const api of ['chat', 'responses'] as const) {
  const createHarness = async ({
    runnerOptions,
  }: HarnessOptions): Promise<RunnerHarness<OpenAIAgent, OpenAIInput>> => {
    const fake: ProtocolFake = await startProtocolFake()
    return {
      runner: new OpenAIRunner({ ...runnerOptions, client: fakeClient(fake.openaiBaseURL) }),
      agent(scenario, tools) {
        const { model, player } = fake.play(scenario)
        return { agent: { model, api, instructions: 'You are a research assistant.', tools }, player }
      },
      input: (prompt) => prompt,
      toolNamesOf,
      close: () => fake.close(),
      reopen: createHarness,
    }
  }
  runnerConformanceSuite<OpenAIAgent, OpenAIInput>({ name: `OpenAIRunner (api: '${api}')`, createHarness })
}
