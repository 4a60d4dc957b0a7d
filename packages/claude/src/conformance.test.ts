import Anthropic from '@anthropic-ai/sdk'
import {
  type HarnessOptions,
  type RecordedRequest,
  type RunnerHarness,
  runnerConformanceSuite,
  startProtocolFake,
} from '@runner/testkit'
import { ClaudeRunner } from './claude-runner.js'
import type { ClaudeAgent } from './types.js'

// Every case of the contract with every feature (streaming, maxTurnsRecovery, toolHooks), on the
// real Anthropic client against the test kit's loopback Messages fake.
// A resumed run gets a harness of its own (`reopen`): a new runner over the same store.
const createHarness = async ({
  runnerOptions,
}: HarnessOptions): Promise<RunnerHarness<ClaudeAgent, string>> => {
  const fake = await startProtocolFake()
  // The suite counts model calls. The client keeps the SDK's default retries (maxRetries 2): the
  // runner switches them off on every request it makes (`retry.no-hidden-retries` checks it).
  const client = new Anthropic({ apiKey: 'sk-ant-test', baseURL: fake.anthropicBaseURL, logLevel: 'off' })
  return {
    runner: new ClaudeRunner({ ...runnerOptions, client }),
    agent(scenario, tools) {
      const { model, player } = fake.play(scenario)
      return { agent: { model, maxTokens: 1024, system: 'You are a research assistant.', tools }, player }
    },
    input: (prompt) => prompt,
    // The fake records each request; the suite checks that the wrap-up request offers no tools.
    toolNamesOf: (request) =>
      (((request as RecordedRequest).body.tools as Array<{ name: string }> | undefined) ?? []).map(
        (tool) => tool.name,
      ),
    close: () => fake.close(),
    reopen: createHarness,
  }
}

runnerConformanceSuite<ClaudeAgent, string>({ name: 'ClaudeRunner', createHarness })
