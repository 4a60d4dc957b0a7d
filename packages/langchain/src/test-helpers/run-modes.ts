import type { RunEvent, RunOptions, RunResult } from '@runner/core'
import type { LangChainAgent, LangChainInput, LangChainOutput } from '../agent.js'
import type { LangChainRunner } from '../langchain-runner.js'

/** Both ways to run: `run` (LangChain's `invoke`) and a drained `runStreamed` (`streamEvents`). */
export const modes = [
  { streamed: false, label: 'run (invoke)' },
  { streamed: true, label: 'runStreamed (streamEvents)' },
] as const

/** Runs the agent with `run` or a drained `runStreamed`; resolves with the result and the events seen. */
export async function runIn(
  streamed: boolean,
  runner: LangChainRunner,
  agent: LangChainAgent,
  input: LangChainInput,
  options?: RunOptions<LangChainOutput>,
): Promise<{ result: RunResult<LangChainOutput>; events: RunEvent<LangChainOutput>[] }> {
  if (!streamed) return { result: await runner.run(agent, input, options), events: [] }
  const stream = runner.runStreamed(agent, input, options)
  const events: RunEvent<LangChainOutput>[] = []
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

/** Waits until `condition` holds (polling every 2 ms), failing after 5 s with `what`. */
export async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within 5 s`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

/** The activity log as `status: message (percentage)` lines. */
export function logLines(activity: {
  log: Array<{ status: string; message: string; percentage: number | null }>
}) {
  return activity.log.map(
    (entry) =>
      `${entry.status}: ${entry.message}${entry.percentage === null ? '' : ` (${entry.percentage}%)`}`,
  )
}
