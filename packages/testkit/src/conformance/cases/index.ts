import type { ConformanceFeatures } from '../types.js'
import { approvalAcrossInstances, approvalApprove, approvalDeny, approvalEdit } from './approvals.js'
import {
  cancelBeforeStart,
  cancelConsumerBreak,
  cancelDuringModelCall,
  cancelInsideTool,
} from './cancellation.js'
import {
  capabilityDurable,
  capabilityMaxTurnsRecovery,
  capabilityStreaming,
  capabilityToolHooks,
} from './capabilities.js'
import { concurrencyIsolated } from './concurrency.js'
import type { ConformanceCase } from './conformance-case.js'
import { durableCrashResume } from './crash-resume.js'
import { hooksDeny, hooksOrder, hooksRewrite } from './hooks.js'
import { lifecycleFailure, lifecycleNeverLeftRunning, lifecycleSuccess } from './lifecycle.js'
import { maxTurnsError, maxTurnsRecovery } from './max-turns.js'
import { reportStatusBadArguments, reportStatusUpdates } from './report-status.js'
import { resumeFinished, resumeUnknown } from './resume-refusals.js'
import { noHiddenRetries, retryThenSuccess } from './retry.js'
import { streamingOrder, streamingRunEqualsDrainedStream } from './streaming.js'
import { cancelTimeout } from './timeout.js'
import { trajectorySteps, usageSummed } from './usage-and-trajectory.js'

export type { CaseContext, CaseOutcome, ConformanceCase, OpenedHarness } from './conformance-case.js'
export { reopenMissing } from './durable-helpers.js'
export { resolveFeatures, runCase } from './run-case.js'

/**
 * Every case of the runner contract, in the order the suite registers them (a `describe` per
 * group, groups in order of first appearance).
 */
export const conformanceCases: ConformanceCase[] = [
  lifecycleSuccess,
  lifecycleFailure,
  reportStatusUpdates,
  reportStatusBadArguments,
  streamingOrder,
  streamingRunEqualsDrainedStream,
  cancelBeforeStart,
  cancelDuringModelCall,
  cancelInsideTool,
  cancelTimeout,
  cancelConsumerBreak,
  retryThenSuccess,
  noHiddenRetries,
  maxTurnsError,
  maxTurnsRecovery,
  hooksOrder,
  hooksDeny,
  hooksRewrite,
  usageSummed,
  trajectorySteps,
  concurrencyIsolated,
  lifecycleNeverLeftRunning,
  durableCrashResume,
  approvalApprove,
  approvalDeny,
  approvalEdit,
  approvalAcrossInstances,
  resumeFinished,
  resumeUnknown,
  capabilityStreaming,
  capabilityMaxTurnsRecovery,
  capabilityToolHooks,
  capabilityDurable,
]

/**
 * The cases that apply to a runner with these features. A feature left unset (`durable`, decided
 * by the runner's capabilities) keeps the cases of both sides: each skips itself when it does not
 * apply.
 */
export function casesFor(features: ConformanceFeatures): ConformanceCase[] {
  return conformanceCases.filter((testCase) => {
    if (!testCase.when) return true
    const missing = testCase.when.startsWith('missing:')
    const declared = features[(missing ? testCase.when.slice(8) : testCase.when) as keyof ConformanceFeatures]
    if (declared === undefined) return true
    return missing ? !declared : declared
  })
}
