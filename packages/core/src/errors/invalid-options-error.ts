import { hasMarker, RunnerError, type RunnerErrorOptions } from './runner-error.js'

const marker = Symbol.for('runner.error.InvalidOptionsError')

/** One issue found in options or arguments: the dotted path of the field and what is wrong with it. */
export interface InvalidOptionIssue {
  /** Dotted path of the field, such as `retry.attempts`. */
  field: string
  /** What is wrong, and what to do. */
  message: string
}

/** Options or arguments given to the runner, the tracker, a store or the pool are invalid. Nothing was changed. */
export class InvalidOptionsError extends RunnerError {
  readonly [marker] = true
  /** Every field that was wrong. */
  readonly issues: InvalidOptionIssue[]
  /** The first wrong field, for convenience. */
  readonly field: string

  constructor(issues: InvalidOptionIssue[], options: RunnerErrorOptions & { subject?: string } = {}) {
    const subject = options.subject ?? 'options'
    const list = issues.map((issue) => `${issue.field}: ${issue.message}`).join('; ')
    super(`Invalid ${subject}: ${list}`, options)
    this.name = 'InvalidOptionsError'
    this.issues = issues
    this.field = issues[0]?.field ?? ''
  }

  static override isInstance(value: unknown): value is InvalidOptionsError {
    return hasMarker(value, marker)
  }
}
