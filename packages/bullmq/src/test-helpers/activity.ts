import type { Activity, ActivityLogEntry, ActivityTracker } from '@runner/core'

/**
 * Resolves with the activity as soon as `predicate` holds: at once if it already does, otherwise
 * on the change that makes it hold (pushed by `watch`). Fails after `timeoutMs` with the last state
 * seen, so a broken engine fails the test instead of hanging it.
 */
export async function waitForActivity(
  tracker: ActivityTracker,
  agentId: string,
  predicate: (activity: Activity) => boolean,
  timeoutMs = 10_000,
): Promise<Activity> {
  const controller = new AbortController()
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

/** Log messages of an activity, oldest first, as `status: message`. */
export function logLines(activity: Activity): string[] {
  return activity.log.map((entry) => `${entry.status}: ${entry.message}`)
}

/** An activity log entry by its structured fields: `[status, kind, attempt, message]`. */
export type LogEntryFields = [
  ActivityLogEntry['status'],
  ActivityLogEntry['kind'],
  ActivityLogEntry['attempt'],
  string,
]

/** The log of an activity, oldest first, as `[status, kind, attempt, message]`. */
export function logEntries(activity: Activity): LogEntryFields[] {
  return activity.log.map((entry) => [entry.status, entry.kind, entry.attempt, entry.message])
}
