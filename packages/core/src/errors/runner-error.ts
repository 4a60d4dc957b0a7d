const marker = Symbol.for('runner.error.RunnerError')

/** Options shared by every error of the runner. */
export interface RunnerErrorOptions {
  /** The error that caused this one, if any. */
  cause?: unknown
}

/**
 * Base class of every error thrown by `@runner/*`.
 *
 * `isInstance` checks a `Symbol.for` marker instead of the prototype chain, so it holds even
 * when two copies of the package are installed side by side.
 */
export class RunnerError extends Error {
  readonly [marker] = true

  constructor(message: string, options: RunnerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'RunnerError'
  }

  /** True for any `RunnerError`, whichever copy of the package created it. */
  static isInstance(value: unknown): value is RunnerError {
    return hasMarker(value, marker)
  }
}

/** True when `value` is an object carrying the given error marker. */
export function hasMarker(value: unknown, symbol: symbol): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[symbol] === true
}
