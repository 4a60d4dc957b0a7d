export { ACTIVITY_LOG_KINDS } from './activity/log-kinds.js'
export { MemoryActivityStore } from './activity/memory-store.js'
export * as storeHelpers from './activity/store-helpers.js'
export type {
  ActivityTracker,
  ActivityTrackerOptions,
  CreateOptions,
  LifecycleMessages,
  LogEntryOptions,
  UpdateOptions,
} from './activity/tracker.js'
export { createActivityTracker, defaultLifecycleMessages, errorMessage } from './activity/tracker.js'
export {
  ACTIVE_STATUSES,
  ACTIVITY_STATUSES,
  assertTransition,
  canTransition,
  isActiveStatus,
  isTerminalStatus,
  TERMINAL_STATUSES,
} from './activity/transitions.js'
export type {
  Activity,
  ActivityEvent,
  ActivityLogEntry,
  ActivityLogKind,
  ActivityStatus,
  ActivityStore,
  ActivitySummary,
  AppendActivityInput,
  CreateActivityInput,
  ListActivitiesOptions,
  ListActivitiesResult,
  MetadataFilter,
  MetadataValue,
  ScopeOptions,
  Trajectory,
  TrajectoryStep,
  Usage,
  WatchFilter,
} from './activity/types.js'
export {
  type ConfigEnv,
  loadConfig,
  type RetryConfig,
  type RunnerConfig,
  type StoreConfig,
} from './config/index.js'
export * from './errors/index.js'
export { hasMarker } from './errors/runner-error.js'
export * from './pool/index.js'
export { defaultPrompts, type RunnerPrompts } from './prompts.js'
export { BaseAgentRunner, currentRun } from './runner/base-agent-runner.js'
export type {
  AdapterEvent,
  NativeEvent,
  ReasoningDeltaEvent,
  RetryEvent,
  RunEndEvent,
  RunErrorEvent,
  RunEvent,
  RunStartEvent,
  StatusUpdateEvent,
  TextDeltaEvent,
  ToolCallEvent,
  ToolResultEvent,
  TurnEndEvent,
  TurnStartEvent,
} from './runner/events.js'
export type { HookName, HookRunInfo, RunHooks, ToolCallDecision, ToolCallInfo } from './runner/hooks.js'
export { backoffDelay, defaultRetryOptions, isTransientError, type RetryOptions } from './runner/retry.js'
export { RunStream, serializeEvent } from './runner/run-stream.js'
export type {
  ExecuteResult,
  HookFirer,
  ResolvedRunOptions,
  RunContext,
  RunnerCapabilities,
  RunnerOptions,
  RunOptions,
  RunResult,
  StepInput,
  TurnInfo,
} from './runner/types.js'
export { type FallbackEntry, FallbackRunner, withFallback } from './runner/with-fallback.js'
export {
  type AnyToolDefinition,
  defineTool,
  type ToolContext,
  type ToolDefinition,
  toolInputJsonSchema,
} from './tools/define-tool.js'
export {
  REPORT_STATUS_DESCRIPTION,
  REPORT_STATUS_RESULT,
  REPORT_STATUS_TOOL_NAME,
  type ReportStatusInput,
  type ReportStatusMode,
  reportStatusInputSchema,
  reportStatusTool,
  toolsWithReportStatus,
} from './tools/report-status.js'
export { runToolCall, runToolCalls, type ToolCallOutcome, toolOutputText } from './tools/run-tool.js'
export { abortableSleep, raceAbort } from './util/abort.js'
export { parseOrThrow, zodIssues } from './util/zod-issues.js'
export { VERSION } from './version.js'
