import { hasMarker, RunnerError, type RunnerErrorOptions } from './runner-error.js'

const marker = Symbol.for('runner.error.ActivityTransitionError')

import type { ActivityStatus } from '../activity/types.js'

/** An activity update asked for a move the lifecycle does not allow, such as any update after a terminal status. */
export class ActivityTransitionError extends RunnerError {
  readonly [marker] = true
  readonly agentId: string
  readonly from: ActivityStatus
  readonly to: ActivityStatus

  constructor(agentId: string, from: ActivityStatus, to: ActivityStatus, options: RunnerErrorOptions = {}) {
    super(
      `Activity ${agentId} cannot move from ${from} to ${to}${
        from === 'complete' || from === 'error' || from === 'canceled'
          ? `: ${from} is final. Start a new activity (a new agentId) to run again.`
          : '.'
      }`,
      options,
    )
    this.name = 'ActivityTransitionError'
    this.agentId = agentId
    this.from = from
    this.to = to
  }

  static override isInstance(value: unknown): value is ActivityTransitionError {
    return hasMarker(value, marker)
  }
}
