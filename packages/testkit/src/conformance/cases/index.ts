import type { ConformanceFeatures } from '../types.js'
import {
  cancelBeforeStart,
  cancelConsumerBreak,
  cancelDuringModelCall,
  cancelInsideTool,
} from './cancellation.js'
import { capabilityMaxTurnsRecovery, capabilityStreaming, capabilityToolHooks } from './capabilities.js'
import { concurrencyIsolated } from './concurrency.js'
import type { ConformanceCase } from './conformance-case.js'
import { hooksDeny, hooksOrder, hooksRewrite } from './hooks.js'
import { lifecycleFailure, lifecycleNeverLeftRunning, lifecycleSuccess } from './lifecycle.js'
import { maxTurnsError, maxTurnsRecovery } from './max-turns.js'
import { reportStatusBadArguments, reportStatusUpdates } from './report-status.js'
import { noHiddenRetries, retryThenSuccess } from './retry.js'
import { streamingOrder, streamingRunEqualsDrainedStream } from './streaming.js'
import { cancelTimeout } from './timeout.js'
import { trajectorySteps, usageSummed } from './usage-and-trajectory.js'

export type { CaseContext, ConformanceCase } from './conformance-case.js'
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
  capabilityStreaming,
  capabilityMaxTurnsRecovery,
  capabilityToolHooks,
]

/** The cases that apply to a runner with these features. */
export function casesFor(features: ConformanceFeatures): ConformanceCase[] {
  return conformanceCases.filter((testCase) => {
    if (!testCase.when) return true
    if (testCase.when.startsWith('missing:'))
      return !features[testCase.when.slice(8) as keyof ConformanceFeatures]
    return features[testCase.when as keyof ConformanceFeatures]
  })
}
