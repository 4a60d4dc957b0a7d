import type { Activity, ActivityLogKind, ActivityStatus, ActivitySummary, Trajectory } from '@runner/core'
import type {
  AppendActivityInput,
  CheckpointInput,
  JournalEntryInput,
  JsonValue,
  PendingRequestInput,
} from '@runner/core/store'

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
  queued: ['queued', 'running', 'canceled', 'error'],
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

/** What an activity brought to `waiting` by `createIn` waits for: one approval. */
export const WAITING_ON: readonly PendingRequestInput[] = [
  { id: 'call-1', kind: 'approval', toolName: 'send_email', input: { to: 'ops@example.com' } },
]

/** Every status, with the pending requests `append` needs to move to it (only `waiting` needs any). */
export function moveTo(status: ActivityStatus, message = `to ${status}`): AppendActivityInput {
  return status === 'waiting'
    ? { status, message, pending: WAITING_ON.map((request) => ({ ...request })) }
    : { status, message }
}

/** A checkpoint as a runner writes it, with a state of nested, unicode and quoted data. */
export function checkpointOf(turn: number, state?: JsonValue): CheckpointInput {
  return {
    state:
      state !== undefined
        ? state
        : {
            messages: [
              { role: 'user', content: 'héllo "quoted" 🚀' },
              { role: 'assistant', content: `turn ${turn}`, extra: [1, 2.5, null, true, { nested: {} }] },
            ],
          },
    runner: 'scripted',
    turn,
    usage: { inputTokens: 10 * turn, outputTokens: 5 * turn, totalTokens: 15 * turn },
    attempt: 1,
  }
}

/** A completed tool call as a runner journals it. */
export function journalEntryOf(
  toolCallId: string,
  output: JsonValue = `result of ${toolCallId}`,
): JournalEntryInput {
  return {
    toolCallId,
    toolName: 'search',
    input: { query: `query of ${toolCallId}`, tags: ['a', 'ü'] },
    output,
    isError: false,
    attempt: 1,
  }
}

/** Waits `ms` milliseconds (lease expiry: the only clock the suite depends on). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
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
