import { hasMarker, RunnerError, type RunnerErrorOptions } from './runner-error.js'

const marker = Symbol.for('runner.error.DecisionError')

/** A decision (approve, deny, respond) that cannot apply. Nothing changed. */
export class DecisionError extends RunnerError {
  readonly [marker] = true
  readonly agentId: string
  readonly requestId: string

  constructor(agentId: string, requestId: string, problem: string, options: RunnerErrorOptions = {}) {
    super(`Cannot decide request "${requestId}" of run ${agentId}: ${problem}. Nothing changed.`, options)
    this.name = 'DecisionError'
    this.agentId = agentId
    this.requestId = requestId
  }

  static override isInstance(value: unknown): value is DecisionError {
    return hasMarker(value, marker)
  }
}
