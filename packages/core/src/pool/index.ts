export { createPool } from './create-pool.js'
export {
  deserializeJobOutcome,
  type SerializedJobError,
  type SerializedJobOutcome,
  serializeJobOutcome,
} from './job-outcome.js'
export { type LocalEngineOptions, localEngine } from './local-engine.js'
export type {
  CanceledJobOutcome,
  CancelJobOptions,
  CloseOptions,
  CompleteJobOutcome,
  EngineCloseOptions,
  EnqueueOptions,
  EnqueueResult,
  ErrorJobOutcome,
  JobOutcome,
  JobOutcomeBase,
  JobRunner,
  JsonValue,
  Pool,
  PoolEngine,
  PoolEngineContext,
  PoolJob,
  PoolOptions,
  ResultOptions,
  RunJobOptions,
  TaskContext,
  TaskHandle,
  TaskHandler,
  TaskOptions,
} from './types.js'
