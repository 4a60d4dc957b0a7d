export { ClaudeRunner } from './claude-runner.js'
export { ClaudeConnectionError } from './errors/claude-connection-error.js'
export { ClaudeMalformedResponseError } from './errors/claude-malformed-response-error.js'
export { ClaudeStopReasonError } from './errors/claude-stop-reason-error.js'
export { isRetryableClaudeError } from './is-retryable.js'
export type {
  ClaudeClientSettings,
  ClaudeRunnerOwnSettings,
  ClaudeRunnerSettings,
  ReportStatusMode,
} from './settings.js'
export type {
  ClaudeAgent,
  ClaudeInput,
  ClaudeModelSettings,
  ClaudeOutput,
  ClaudeThinking,
  ClaudeToolChoice,
} from './types.js'
export { VERSION } from './version.js'
