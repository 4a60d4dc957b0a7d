import type { CompletedRunResult, RunEvent, TrajectoryStep } from '@runner/core'

/** Keys that differ between two runs of the same answers: ids, clocks, durations, cost. */
const varying = new Set([
  'agentId',
  'at',
  'durationMs',
  'timeToFirstChunkMs',
  'costUsd',
  'startedAt',
  'finishedAt',
  'createdAt',
  'updatedAt',
])

/** A JSON copy of `value` without the keys that differ from run to run. */
export function stable(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, inner) => (varying.has(key) ? undefined : inner)))
}

/** A stream's events as two runs of the same answers must both show them (the result left out). */
export function eventsOf(events: readonly RunEvent<unknown>[]): unknown[] {
  return events.map((event) => (event.type === 'run-end' ? { type: 'run-end' } : stable(event)))
}

/** The `model-call` steps of a run's trajectory. */
export function modelCalls(result: CompletedRunResult<unknown>): TrajectoryStep[] {
  return (result.trajectory?.steps ?? []).filter((step) => step.kind === 'model-call')
}
