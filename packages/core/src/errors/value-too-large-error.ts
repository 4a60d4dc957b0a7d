import { InvalidOptionsError } from './invalid-options-error.js'
import { hasMarker, type RunnerErrorOptions } from './runner-error.js'

const marker = Symbol.for('runner.error.ValueTooLargeError')

/**
 * A value given to the runner, a store or the pool (pool input, metadata, a tool's input or
 * output, a checkpoint) is nested deeper or is larger than the limit. Nothing was written. An
 * `InvalidOptionsError`, so code that catches those catches this too.
 */
export class ValueTooLargeError extends InvalidOptionsError {
  readonly [marker] = true
  /** What is measured: nesting `levels` or UTF-8 JSON `bytes`. */
  readonly unit: 'levels' | 'bytes'
  /** The limit. */
  readonly limit: number
  /** What was found: the depth reached (the walk stops one level past the limit) or the size. */
  readonly actual: number

  constructor(
    field: string,
    unit: 'levels' | 'bytes',
    actual: number,
    limit: number,
    options: RunnerErrorOptions & { subject?: string; advice?: string } = {},
  ) {
    const found =
      unit === 'levels'
        ? `is nested more than ${limit.toLocaleString('en-US')} levels deep (the limit)`
        : `is ${actual.toLocaleString('en-US')} bytes as JSON, over the limit of ${limit.toLocaleString('en-US')} bytes`
    const advice = options.advice ?? (unit === 'levels' ? 'flatten it' : 'make it smaller')
    super([{ field, message: `${found}; ${advice}` }], options)
    this.name = 'ValueTooLargeError'
    this.unit = unit
    this.limit = limit
    this.actual = actual
  }

  static override isInstance(value: unknown): value is ValueTooLargeError {
    return hasMarker(value, marker)
  }
}
