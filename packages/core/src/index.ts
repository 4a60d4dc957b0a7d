/**
 * `@runner/core`: what applications use. Adapter authors also import `@runner/core/adapter`,
 * store authors `@runner/core/store`, engine authors `@runner/core/engine`, tests `@runner/core/test`.
 */
export { MemoryActivityStore } from './activity/memory-store.js'
export type {
  ActivityTracker,
  ActivityTrackerOptions,
  LifecycleMessages,
} from './activity/tracker.js'
export { createActivityTracker, defaultLifecycleMessages } from './activity/tracker.js'
export type {
  Activity,
  ActivityEvent,
  ActivityLogEntry,
  ActivityLogKind,
  ActivityStatus,
  ActivityStore,
  ActivitySummary,
  DecisionInput,
  ListActivitiesOptions,
  ListActivitiesResult,
  MetadataFilter,
  PendingRequest,
  RunRecord,
  Trajectory,
  TrajectoryStep,
  Usage,
} from './activity/types.js'
export { loadConfig, openStore, type RunnerConfig, type StoreConfig } from './config/index.js'
export {
  ActivityNotFoundError,
  ActivityTransitionError,
  BudgetExceededError,
  CapabilityUnsupportedError,
  CheckpointTooLargeError,
  ConfigError,
  DecisionError,
  HookError,
  InvalidOptionsError,
  InvalidToolInputError,
  MaxTurnsExceededError,
  ResultUnavailableError,
  RunCanceledError,
  RunNotResumableError,
  RunnerError,
  RunTimeoutError,
  ValueTooLargeError,
} from './errors/index.js'
export type { RetryOptions } from './lifecycle/retry-policy.js'
export { createPool } from './pool/create-pool.js'
export { localEngine } from './pool/local-engine.js'
export type {
  EnqueueManyItem,
  EnqueueOptions,
  Pool,
  PoolEngine,
  PoolOptions,
  TaskConcurrency,
  TaskContext,
  TaskHandle,
  TaskOptions,
} from './pool/types.js'
export { defaultPrompts, type RunnerPrompts } from './prompts.js'
export { BaseAgentRunner, currentRun } from './runner/base-agent-runner.js'
export type { RunEvent } from './runner/events.js'
export type { RunHooks, ToolCallInfo } from './runner/hooks.js'
export type { Logger } from './runner/log-hooks.js'
export { RunStream, type SSEResponseOptions, serializeEvent } from './runner/run-stream.js'
export type {
  CompletedRunResult,
  ExecuteResult,
  ModelPrice,
  ResumeOptions,
  RunBudget,
  RunContext,
  RunnerCapabilities,
  RunnerOptions,
  RunOptions,
  RunResult,
  WaitingRunResult,
} from './runner/types.js'
export { type FallbackEntry, withFallback } from './runner/with-fallback.js'
export {
  type AnyToolDefinition,
  defineTool,
  type ToolContext,
  type ToolDefinition,
} from './tools/define-tool.js'
export type { ReportStatusInput, ReportStatusMode } from './tools/report-status.js'
export type { StandardJSONSchemaV1, StandardSchemaV1 } from './tools/standard-schema.js'
export { registerSecret, registerSecretPattern } from './util/secrets.js'
export { VERSION } from './version.js'
