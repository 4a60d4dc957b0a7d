import type { Activity, ActivityLogEntry, ActivityTracker } from '@runner/core'
import { waitForActivity as waitFor } from '@runner/core/test'

export { logLines } from '@runner/core/test'

/** Core's `waitForActivity`, with the longer wait of tests that cross Redis and processes. */
export function waitForActivity(
  tracker: ActivityTracker,
  agentId: string,
  predicate: (activity: Activity) => boolean,
  timeoutMs = 10_000,
): Promise<Activity> {
  return waitFor(tracker, agentId, predicate, timeoutMs)
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
