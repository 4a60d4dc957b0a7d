/**
 * `@runner/core/engine`: what the authors of a pool engine use (`localEngine` is one,
 * `bullmqEngine` from `@runner/bullmq` another). Engines call the pool's `JobRunner`; they never
 * write activities themselves.
 */
export {
  deserializeJobOutcome,
  type SerializedJobError,
  type SerializedJobOutcome,
  serializeJobOutcome,
} from './pool/job-outcome.js'
export { concurrencyWaitMessage, type LocalEngineOptions } from './pool/local-engine.js'
export { firingAgentId, minScheduleEveryMs, missedAfterMs, nextScheduleRun } from './pool/schedules.js'
export type {
  CanceledJobOutcome,
  CancelJobOptions,
  CloseOptions,
  CompleteJobOutcome,
  EngineCloseOptions,
  EngineSchedules,
  EnqueueResult,
  ErrorJobOutcome,
  JobOutcome,
  JobOutcomeBase,
  JobRunner,
  JsonValue,
  PoolEngine,
  PoolEngineContext,
  PoolJob,
  ResultOptions,
  RunJobOptions,
  ScheduleDefinition,
  ScheduleInfo,
  ScheduleOptions,
  TaskHandler,
  WaitingJobOutcome,
} from './pool/types.js'
