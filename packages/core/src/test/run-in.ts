import type { BaseAgentRunner } from '../runner/base-agent-runner.js'
import type { RunEvent } from '../runner/events.js'
import type { CompletedRunResult, RunOptions } from '../runner/types.js'
import { completed } from './completed.js'

/**
 * Runs an agent with `run` (`streamed: false`) or a drained `runStreamed` (`streamed: true`) and
 * resolves with the result and the events seen (none for `run`): one test body for both paths.
 * The run must complete (a waiting run throws, see `completed`).
 */
export async function runIn<TAgent, TInput, TOutput>(
  streamed: boolean,
  runner: BaseAgentRunner<TAgent, TInput, TOutput, unknown>,
  agent: TAgent,
  input: TInput,
  options?: RunOptions<TOutput>,
): Promise<{ result: CompletedRunResult<TOutput>; events: RunEvent<TOutput>[] }> {
  if (!streamed) return { result: await completed(runner.run(agent, input, options)), events: [] }
  const stream = runner.runStreamed(agent, input, options)
  const events: RunEvent<TOutput>[] = []
  for await (const event of stream) events.push(event)
  return { result: await completed(stream.result), events }
}
