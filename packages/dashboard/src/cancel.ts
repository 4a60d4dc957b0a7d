import {
  type ActivityStatus,
  type ActivityStore,
  type ActivitySummary,
  ActivityTransitionError,
  type Pool,
} from '@runner/core'
import { isTerminalStatus } from '@runner/core/store'

/** What a cancel did: `canceled` false when the run had already ended (its `status` then, when known). */
export interface CancelOutcome {
  canceled: boolean
  status?: ActivityStatus
}

/**
 * Cancels a run, as the dashboard's cancel route and `runner cancel` do: through `pool.cancel` when
 * a pool is given and the run is one of its tasks (a running task's signal aborts); otherwise the
 * store marks the activity `canceled` with `message`, and the process running it stops at its next
 * write (the store refuses any move out of `canceled`). A run that has ended is left as it is.
 */
export async function cancelRun(
  store: ActivityStore,
  activity: ActivitySummary,
  options: { pool?: Pool | undefined; message: string },
): Promise<CancelOutcome> {
  if (isTerminalStatus(activity.status)) return { canceled: false, status: activity.status }
  if (options.pool && (await options.pool.cancel(activity.agentId))) return { canceled: true }
  try {
    const updated = await store.append(activity.agentId, {
      status: 'canceled',
      message: options.message,
      kind: 'lifecycle',
    })
    return { canceled: true, status: updated.status }
  } catch (error) {
    // It ended between the read and the write.
    if (ActivityTransitionError.isInstance(error)) return { canceled: false }
    throw error
  }
}
