import type { ActivityTracker } from '../activity/tracker.js'
import type { DecisionInput, RunRecord } from '../activity/types.js'
import { RunNotResumableError } from '../errors/run-not-resumable-error.js'
import { RunnerError } from '../errors/runner-error.js'

/**
 * Records a decision on a pending request of a waiting run, from any process: the store applies
 * it atomically (`DecisionError` when it cannot apply, nothing changed). A wait past its
 * `expiresAt` ends the run `error` ("Approval expired") and the decision is refused with
 * `RunNotResumableError` (`reason: 'expired'`).
 */
export async function decide(
  tracker: ActivityTracker,
  agentId: string,
  requestId: string,
  decision: DecisionInput,
): Promise<RunRecord> {
  const store = tracker.store
  const record = await store.getRun(agentId)
  if (
    record?.status === 'waiting' &&
    record.expiresAt !== undefined &&
    Date.parse(record.expiresAt) <= Date.now()
  ) {
    await tracker
      .update(agentId, `Failed: ${expiredError().message}`, { status: 'error', kind: 'approval' })
      .catch(() => {})
    throw new RunNotResumableError(
      agentId,
      'expired',
      `its wait for decisions expired at ${record.expiresAt}; the run ended in error.`,
    )
  }
  return store.decide(agentId, requestId, decision)
}

/** Why a run whose wait expired ended. */
export function expiredError(): RunnerError {
  return new RunnerError('Approval expired: no decision came within approvalTimeoutMs')
}
