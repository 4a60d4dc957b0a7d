import type { ActivityTracker } from '../activity/tracker.js'
import type { Activity, ActivityStatus } from '../activity/types.js'

/** How long a test waits for an activity state before failing. Generous for slow CI; it takes ms. */
export const WAIT_TIMEOUT_MS = 2000

/**
 * Resolves with the activity as soon as `predicate` holds: at once if it already does, otherwise on
 * the change that makes it hold (pushed by `watch`, no polling). Fails after `timeoutMs` with the
 * last state seen, so a broken pool fails the test instead of hanging it.
 */
export async function waitForActivity(
  tracker: ActivityTracker,
  agentId: string,
  predicate: (activity: Activity) => boolean,
  timeoutMs = WAIT_TIMEOUT_MS,
): Promise<Activity> {
  const controller = new AbortController()
  // Subscribe before reading, so that no change falls between the read and the subscription.
  const events = tracker.watch({ agentId }, controller.signal)[Symbol.asyncIterator]()
  let last: Activity | undefined
  const timer = setTimeout(() => controller.abort(), timeoutMs)
  try {
    last = await tracker.store.get(agentId)
    if (last && predicate(last)) return last
    while (!(await events.next()).done) {
      last = await tracker.store.get(agentId)
      if (last && predicate(last)) return last
    }
    throw new Error(
      `Activity ${agentId} did not reach the expected state within ${timeoutMs} ms; last seen: ${
        last ? `${last.status} "${last.message}"` : 'absent'
      }`,
    )
  } finally {
    clearTimeout(timer)
    controller.abort()
  }
}

/** Resolves with the activity once it has `status`. */
export function waitForStatus(
  tracker: ActivityTracker,
  agentId: string,
  status: ActivityStatus,
  timeoutMs = WAIT_TIMEOUT_MS,
): Promise<Activity> {
  return waitForActivity(tracker, agentId, (activity) => activity.status === status, timeoutMs)
}

/** Log messages of an activity, oldest first, as `status: message`. */
export function logLines(activity: Activity): string[] {
  return activity.log.map((entry) => `${entry.status}: ${entry.message}`)
}
