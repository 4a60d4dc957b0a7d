import { ActivityTransitionError } from '../errors/activity-transition-error.js'
import type { ActivityStatus } from './types.js'

/** Every status, in lifecycle order. */
export const ACTIVITY_STATUSES: readonly ActivityStatus[] = [
  'queued',
  'running',
  'waiting',
  'complete',
  'error',
  'canceled',
]

/** Statuses that are not final: queued, running, and waiting (suspended for a decision). */
export const ACTIVE_STATUSES: readonly ActivityStatus[] = ['queued', 'running', 'waiting']

/** Statuses that are final: no update is accepted after them. */
export const TERMINAL_STATUSES: readonly ActivityStatus[] = ['complete', 'error', 'canceled']

const legalMoves: Record<ActivityStatus, readonly ActivityStatus[]> = {
  queued: ['queued', 'running', 'canceled', 'error'],
  running: ['running', 'waiting', 'complete', 'error', 'canceled'],
  waiting: ['running', 'canceled', 'error'],
  complete: [],
  error: [],
  canceled: [],
}

/** True for `complete`, `error` and `canceled`. */
export function isTerminalStatus(status: ActivityStatus): boolean {
  return status === 'complete' || status === 'error' || status === 'canceled'
}

/** True for `queued`, `running` and `waiting`: not final. */
export function isActiveStatus(status: ActivityStatus): boolean {
  return status === 'queued' || status === 'running' || status === 'waiting'
}

/** True when the lifecycle allows moving from `from` to `to`. */
export function canTransition(from: ActivityStatus, to: ActivityStatus): boolean {
  return legalMoves[from].includes(to)
}

/** Throws `ActivityTransitionError` unless the move is legal. */
export function assertTransition(agentId: string, from: ActivityStatus, to: ActivityStatus): void {
  if (!canTransition(from, to)) throw new ActivityTransitionError(agentId, from, to)
}
