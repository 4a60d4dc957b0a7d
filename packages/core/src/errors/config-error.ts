import { hasMarker, RunnerError, type RunnerErrorOptions } from './runner-error.js'

const marker = Symbol.for('runner.error.ConfigError')

/** One bad configuration key: its name and what is wrong. */
export interface ConfigIssue {
  key: string
  message: string
}

/** `loadConfig` found bad `RUNNER_*` variables. Every bad key is listed, not just the first. */
export class ConfigError extends RunnerError {
  readonly [marker] = true
  readonly issues: ConfigIssue[]

  constructor(issues: ConfigIssue[], options: RunnerErrorOptions = {}) {
    super(
      `Invalid configuration: ${issues.map((issue) => `${issue.key}: ${issue.message}`).join('; ')}`,
      options,
    )
    this.name = 'ConfigError'
    this.issues = issues
  }

  static override isInstance(value: unknown): value is ConfigError {
    return hasMarker(value, marker)
  }
}
