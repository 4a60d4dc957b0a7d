import type { RunEvent, RunOptions, RunResult } from '@runner/core'
import type { OpenAIAgent, OpenAIApi } from '../agent.js'
import type { OpenAIInput, OpenAIOutput } from '../conversation.js'
import type { OpenAIRunner } from '../openai-runner.js'

/** Every way a run reaches the model: both APIs, streamed (`runStreamed`) or not (`run`). */
export const modes: ReadonlyArray<{ api: OpenAIApi; streamed: boolean; label: string }> = [
  { api: 'chat', streamed: false, label: 'chat, run' },
  { api: 'chat', streamed: true, label: 'chat, runStreamed' },
  { api: 'responses', streamed: false, label: 'responses, run' },
  { api: 'responses', streamed: true, label: 'responses, runStreamed' },
]

/** Runs the agent with `run` or a drained `runStreamed`; resolves with the result and the events seen. */
export async function runIn(
  streamed: boolean,
  runner: OpenAIRunner,
  agent: OpenAIAgent,
  input: OpenAIInput,
  options?: RunOptions<OpenAIOutput>,
): Promise<{ result: RunResult<OpenAIOutput>; events: RunEvent<OpenAIOutput>[] }> {
  if (!streamed) return { result: await runner.run(agent, input, options), events: [] }
  const stream = runner.runStreamed(agent, input, options)
  const events: RunEvent<OpenAIOutput>[] = []
  for await (const event of stream) events.push(event)
  return { result: await stream.result, events }
}

/** The rejection of `promise` (fails the test when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection, but the promise resolved')
}
