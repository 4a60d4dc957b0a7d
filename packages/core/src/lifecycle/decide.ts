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
  if (record) await expireIfDue(tracker, record)
  return store.decide(agentId, requestId, decision)
}

/**
 * Ends a run whose wait for decisions is past its `expiresAt` (`error`, "Approval expired") and
 * throws `RunNotResumableError` (`reason: 'expired'`); does nothing for any other run. Called
 * whenever a decision or a resume comes: nothing sweeps expired waits in the background.
 */
export async function expireIfDue(tracker: ActivityTracker, record: RunRecord): Promise<void> {
  if (record.status !== 'waiting' || record.expiresAt === undefined) return
  if (Date.parse(record.expiresAt) > Date.now()) return
  await tracker.error(record.agentId, expiredError(), { kind: 'approval' }).catch(() => {
    // Ended meanwhile (a decision that raced this one): the refusal stands all the same.
  })
  throw new RunNotResumableError(
    record.agentId,
    'expired',
    `its wait for decisions expired at ${record.expiresAt}; the run ended in error.`,
  )
}

/** Why a run whose wait expired ended. */
export function expiredError(): RunnerError {
  return new RunnerError('Approval expired: no decision came within approvalTimeoutMs')
}
