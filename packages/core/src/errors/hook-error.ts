import { hasMarker, RunnerError } from './runner-error.js'

const marker = Symbol.for('runner.error.HookError')

/**
 * A hook (`onRunStart`, `onToolCallStart`...) threw. It fails the run, whatever framework runs the
 * agent, and is never retried: the hook would most likely throw again. `cause` is what the hook threw.
 */
export class HookError extends RunnerError {
  readonly [marker] = true
  /** The hook that threw, such as `onToolCallStart`. */
  readonly hook: string

  constructor(hook: string, cause: unknown) {
    super(
      `The ${hook} hook threw: ${causeText(cause)}. The run was stopped; fix the hook or catch inside it.`,
      {
        cause,
      },
    )
    this.name = 'HookError'
    this.hook = hook
  }

  static override isInstance(value: unknown): value is HookError {
    return hasMarker(value, marker)
  }
}

function causeText(cause: unknown): string {
  if (cause instanceof Error) return cause.message || cause.name
  return typeof cause === 'string' ? cause : String(cause)
}
