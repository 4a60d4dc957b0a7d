import { hasMarker, RunnerError, type RunnerErrorOptions } from './runner-error.js'

const marker = Symbol.for('runner.error.InvalidToolInputError')

/** A model called a tool with arguments that do not match its input schema. Returned to the model as an error result, never a crashed run. */
export class InvalidToolInputError extends RunnerError {
  readonly [marker] = true
  /** The tool that was called. */
  readonly toolName: string
  /** The arguments the model sent. */
  readonly input: unknown

  constructor(toolName: string, input: unknown, details: string, options: RunnerErrorOptions = {}) {
    super(
      `Invalid input for tool "${toolName}": ${details}. Call it again with arguments that match its schema.`,
      options,
    )
    this.name = 'InvalidToolInputError'
    this.toolName = toolName
    this.input = input
  }

  static override isInstance(value: unknown): value is InvalidToolInputError {
    return hasMarker(value, marker)
  }
}
