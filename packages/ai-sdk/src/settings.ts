import { InvalidOptionsError, type ReportStatusMode, type RunnerOptions } from '@runner/core'

export type { ReportStatusMode } from '@runner/core'

import type { AISDKOutput } from './output.js'

/**
 * Options of `new AISDKRunner(...)`: `reportStatus`, `maxRetries`, and every option of
 * `@runner/core`'s `RunnerOptions` (the runner's defaults for each run: `activity`, `name`,
 * `prompts`, `hooks`, `maxTurns`, `maxTurnsRecovery`, `recoveryTurns`, `retry`, `timeoutMs`,
 * `metadata`, `recordTrajectory`, `includeNative`).
 */
export interface AISDKRunnerSettings extends RunnerOptions<AISDKOutput> {
  /**
   * How agents given as settings get `report_status` (the runner owns their call):
   * `true` adds the tool to `tools` and appends `prompts.reportStatus` to `instructions`;
   * `'tool-only'` adds the tool only (write your own guidance); `false` neither. A ToolLoopAgent
   * is never changed: add `runner.tools.reportStatus` to its tools. Default: `true`.
   */
  reportStatus?: ReportStatusMode
  /**
   * Retries the AI SDK makes itself inside each model request (its `maxRetries`: connection
   * errors, 408, 409, 429, >= 500), for every agent this runner runs, replacing the agent's own.
   * The activity does not show them: the run's `retry` retries every failed request already, and
   * logs each one. Default 0: the AI SDK's own retries are off.
   */
  maxRetries?: number
}

/** The settings taken apart: what `@runner/core` validates, and this runner's own. */
export interface SplitSettings {
  runnerOptions: RunnerOptions<AISDKOutput>
  reportStatus: ReportStatusMode
  maxRetries: number | undefined
}

/** Takes this runner's own settings out of the core options (which `BaseAgentRunner` validates). */
export function splitSettings(settings: AISDKRunnerSettings): SplitSettings {
  const { reportStatus = true, maxRetries, ...runnerOptions } = settings
  if (reportStatus !== true && reportStatus !== false && reportStatus !== 'tool-only') {
    throw new InvalidOptionsError(
      [{ field: 'reportStatus', message: "must be true, false or 'tool-only'" }],
      {
        subject: 'runner options',
      },
    )
  }
  if (maxRetries !== undefined && !(Number.isInteger(maxRetries) && maxRetries >= 0)) {
    throw new InvalidOptionsError([{ field: 'maxRetries', message: 'must be an integer, 0 or more' }], {
      subject: 'runner options',
    })
  }
  return { runnerOptions, reportStatus, maxRetries }
}
