import type { CompletedRunResult, RunResult } from '../runner/types.js'

/**
 * The result of a run that must have completed, typed as such: throws, naming what the run waits
 * for, when it is `waiting` instead. For tests and scripts that never suspend.
 */
export async function completed<TOutput>(
  result: RunResult<TOutput> | PromiseLike<RunResult<TOutput>>,
): Promise<CompletedRunResult<TOutput>> {
  const settled = await result
  if (settled.status !== 'complete') {
    const ids = settled.pending.map((request) => request.toolName ?? request.id).join(', ')
    throw new Error(`Run ${settled.agentId} is waiting for ${ids}, not complete`)
  }
  return settled
}
