import type { BaseAgentRunner } from '../runner/base-agent-runner.js'
import type { RunEvent } from '../runner/events.js'
import type { RunOptions, RunResult } from '../runner/types.js'

/**
 * Runs an agent with `run` (`streamed: false`) or a drained `runStreamed` (`streamed: true`) and
 * resolves with the result and the events seen (none for `run`): one test body for both paths.
 */
export async function runIn<TAgent, TInput, TOutput>(
  streamed: boolean,
  runner: BaseAgentRunner<TAgent, TInput, TOutput, unknown>,
  agent: TAgent,
  input: TInput,
  options?: RunOptions<TOutput>,
): Promise<{ result: RunResult<TOutput>; events: RunEvent<TOutput>[] }> {
  if (!streamed) return { result: await runner.run(agent, input, options), events: [] }
  const stream = runner.runStreamed(agent, input, options)
  const events: RunEvent<TOutput>[] = []
  for await (const event of stream) events.push(event)
  return { result: await stream.result, events }
}
