import type { BaseAgentRunner, RunEvent, RunOptions, RunResult } from '@runner/core'

/**
 * Runs an agent with `run` (`streamed: false`) or a drained `runStreamed` (`streamed: true`) and
 * resolves with the result and the events seen (none for `run`): one test body for both paths.
 */
export async function runIn<TAgent, TInput, TOutput>(
  streamed: boolean,
  runner: BaseAgentRunner<TAgent, TInput, TOutput>,
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

/** The error `promise` rejects with; fails the test when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection, but the promise resolved')
}
