import type { Activity, ActivityLogKind, ActivityStatus, ActivitySummary, Trajectory } from '@runner/core'

/** Every status, in lifecycle order. */
export const STATUSES: readonly ActivityStatus[] = [
  'queued',
  'running',
  'waiting',
  'complete',
  'error',
  'canceled',
]

/** The lifecycle as DESIGN.md states it, written out here so that the suite checks the stores' table. */
export const LEGAL_MOVES: Record<ActivityStatus, readonly ActivityStatus[]> = {
  queued: ['running', 'canceled', 'error'],
  running: ['running', 'waiting', 'complete', 'error', 'canceled'],
  waiting: ['running', 'canceled', 'error'],
  complete: [],
  error: [],
  canceled: [],
}

/** The kinds of log entry as DESIGN.md states them, written out for the same reason. */
export const LOG_KINDS: readonly ActivityLogKind[] = [
  'lifecycle',
  'progress',
  'retry',
  'fallback',
  'resume',
  'approval',
]

/** Appends that bring a new (queued) activity to each status. */
export const pathTo: Record<ActivityStatus, ActivityStatus[]> = {
  queued: [],
  running: ['running'],
  waiting: ['running', 'waiting'],
  complete: ['running', 'complete'],
  error: ['running', 'error'],
  canceled: ['canceled'],
}

/** The activity without its log. */
export function summaryOf(activity: Activity): ActivitySummary {
  const { log: _log, ...summary } = activity
  return summary
}

/** A trajectory with nested, unicode and quoted data. */
export function trajectoryOf(agentId: string): Trajectory {
  return {
    agentId,
    agentType: 'test',
    status: 'complete',
    startedAt: '2025-01-01T00:00:00.000Z',
    finishedAt: '2025-01-01T00:00:01.500Z',
    usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15, cachedInputTokens: 2 },
    steps: [
      {
        index: 0,
        kind: 'model-call',
        attempt: 1,
        turn: 1,
        at: '2025-01-01T00:00:00.100Z',
        durationMs: 900,
        data: { model: 'fake', text: 'héllo "quoted"', nested: { list: [1, null, true] } },
      },
      {
        index: 1,
        kind: 'status',
        attempt: 1,
        turn: 1,
        at: '2025-01-01T00:00:01.000Z',
        data: { message: 'Done' },
      },
    ],
  }
}

/** Scribbles over everything an object returned by the store holds. */
export function mutate(activity: ActivitySummary | Activity): void {
  activity.status = 'canceled'
  activity.message = 'hacked'
  activity.percentage = 99
  activity.metadata.tenant = 'hacked'
  activity.metadata.injected = true
  if ('log' in activity) {
    activity.log.push({ status: 'error', message: 'hacked', percentage: 1, at: activity.updatedAt })
    activity.log[0]!.message = 'hacked'
    activity.log[0]!.kind = 'approval'
    activity.log[0]!.attempt = 99
  }
}
