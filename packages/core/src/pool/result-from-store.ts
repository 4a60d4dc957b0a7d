import type { ActivityTracker } from '../activity/tracker.js'
import { isTerminalStatus } from '../activity/transitions.js'
import type { Activity } from '../activity/types.js'
import { ActivityNotFoundError } from '../errors/activity-not-found-error.js'
import { ResultUnavailableError } from '../errors/result-unavailable-error.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { RunnerError } from '../errors/runner-error.js'

/**
 * A task's outcome read from the store, for `pool.result` when the engine does not keep it (another
 * process ran it, it was evicted, the engine lost it) or while the task waits for decisions: waits
 * (pushed by `watch`, never polling) until the activity is final, then resolves with the result
 * written with `complete`, or rejects as the task ended. A completed task whose result is kept
 * nowhere rejects with `ResultUnavailableError`, never resolves `undefined`.
 */
export async function resultFromStore(
  tracker: ActivityTracker,
  agentId: string,
  signal: AbortSignal,
): Promise<unknown> {
  const store = tracker.store
  const watcher = new AbortController()
  const onAbort = () => watcher.abort(signal.reason)
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    // Watch first, then read: a change between the two is never missed.
    const changes = store.watch({ agentId }, watcher.signal)[Symbol.asyncIterator]()
    let current = await store.get(agentId)
    if (!current) throw new ActivityNotFoundError(agentId)
    while (!isTerminalStatus(current.status)) {
      if (signal.aborted) throw signal.reason
      const next = await changes.next().catch((error: unknown) => {
        if (signal.aborted) throw signal.reason
        throw error
      })
      if (next.done) {
        if (signal.aborted) throw signal.reason
        throw new RunnerError(
          `The store stopped reporting changes of ${agentId} before it finished; wait again.`,
        )
      }
      current = (await store.get(agentId)) as Activity
    }
    return await settled(tracker, current)
  } finally {
    signal.removeEventListener('abort', onAbort)
    watcher.abort()
  }
}

async function settled(tracker: ActivityTracker, activity: Activity): Promise<unknown> {
  const { agentId } = activity
  switch (activity.status) {
    case 'complete': {
      const record = await tracker.store.getRun(agentId)
      if (record?.result) return record.result.value
      throw new ResultUnavailableError(
        agentId,
        'the task completed, but no result was stored with it (a store or engine of an older version) and the engine no longer keeps it.',
      )
    }
    case 'canceled':
      throw new RunCanceledError(`The task ${agentId} was canceled: ${activity.message}`)
    default:
      throw new RunnerError(`The task ${agentId} failed: ${activity.message}`)
  }
}
