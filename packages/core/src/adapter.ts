/**
 * `@runner/core/adapter`: what adapter authors use besides `BaseAgentRunner`: the tool loop for
 * runners that own it, the one tool-call protocol for every runner, `report_status`, error
 * classification, abort helpers, validation.
 */
export { errorMessage } from './activity/tracker.js'
export type { InvalidOptionIssue } from './errors/invalid-options-error.js'
export { hasMarker } from './errors/runner-error.js'
export { markModelCallCached } from './lifecycle/cached-call.js'
export {
  type ChildRunner,
  type ChildRuns,
  type ChildRunsOptions,
  childRuns,
} from './lifecycle/child-runs.js'
export {
  createRateLimiter,
  type RateLimit,
  type RateLimiter,
  type RateLimiterOptions,
  type RateLimitWait,
  type TokenSlot,
} from './lifecycle/rate-limit.js'
export { backoffDelay, isTransientError, retryAfterMs } from './lifecycle/retry-policy.js'
export {
  deleteSession,
  type RunSession,
  readSession,
  type SessionCodec,
  type SessionSummaryInfo,
} from './lifecycle/sessions.js'
export {
  createSharedBudget,
  type SharedBudget,
  type SharedBudgetOptions,
  type SharedBudgetReached,
  type SharedBudgetSpent,
  type SharedBudgetUse,
} from './lifecycle/shared-budget.js'
export {
  type Pipeline,
  type PipelineStep,
  pipeline,
  type StepContext,
  type StepOptions,
} from './pool/pipeline.js'
export type {
  AdapterEvent,
  NativeEvent,
  ReasoningDeltaEvent,
  RetryEvent,
  RunEndEvent,
  RunErrorEvent,
  RunStartEvent,
  RunWait,
  StatusUpdateEvent,
  TextDeltaEvent,
  ToolCallEvent,
  ToolResultEvent,
  TurnEndEvent,
  TurnStartEvent,
} from './runner/events.js'
export type { HookRunInfo, ToolCallDecision } from './runner/hooks.js'
export { type Instrumentation, registerInstrumentation } from './runner/instrumentation.js'
export type { HookFirer, ResumeState, StepInput, TurnInfo } from './runner/types.js'
export { isToolDefinition, toolInputJsonSchema } from './tools/define-tool.js'
export {
  REPORT_STATUS_DESCRIPTION,
  REPORT_STATUS_RESULT,
  REPORT_STATUS_TOOL_NAME,
  reportStatusInputSchema,
  reportStatusTool,
  toolsWithReportStatus,
} from './tools/report-status.js'
export {
  type BegunToolCall,
  beginToolCall,
  callTool,
  deniedToolText,
  failedToolText,
  invalidToolInputText,
  parseToolInput,
  runToolCall,
  runToolCalls,
  type ToolCallOptions,
  type ToolCallOutcome,
  type ToolCallTarget,
  type ToolInputCheck,
  toolOutputText,
  unknownToolText,
} from './tools/tool-call.js'
export {
  type LoopTurn,
  type ModelAnswer,
  type NextStep,
  runToolLoop,
  type ToolLoopDriver,
} from './tools/tool-loop.js'
export { abortableSleep, abortReason, raceAbort } from './util/abort.js'
export { redactSecrets, redactSecretsIn, registerSecret } from './util/secrets.js'
export { parseOrThrow, zodIssues } from './util/zod-issues.js'
