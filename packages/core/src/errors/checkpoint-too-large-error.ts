import { hasMarker, RunnerError, type RunnerErrorOptions } from './runner-error.js'

const marker = Symbol.for('runner.error.CheckpointTooLargeError')

/** A checkpoint (or a journaled tool result) is larger than the store accepts. Nothing was written. */
export class CheckpointTooLargeError extends RunnerError {
  readonly [marker] = true
  readonly agentId: string
  /** What was refused: `checkpoint` or `journal entry <toolCallId>`. */
  readonly what: string
  /** Its size as UTF-8 JSON, in bytes. */
  readonly bytes: number
  /** The store's limit, in bytes. */
  readonly limitBytes: number

  constructor(
    agentId: string,
    what: string,
    bytes: number,
    limitBytes: number,
    options: RunnerErrorOptions = {},
  ) {
    super(
      `The ${what} of run ${agentId} is ${bytes.toLocaleString('en-US')} bytes, over the store's limit of ${limitBytes.toLocaleString('en-US')} bytes; nothing was written. Keep tool results and conversations smaller, or raise the store's maxRecordBytes.`,
      options,
    )
    this.name = 'CheckpointTooLargeError'
    this.agentId = agentId
    this.what = what
    this.bytes = bytes
    this.limitBytes = limitBytes
  }

  static override isInstance(value: unknown): value is CheckpointTooLargeError {
    return hasMarker(value, marker)
  }
}
