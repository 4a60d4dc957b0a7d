import { describe, expect, it } from 'vitest'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { RunTimeoutError } from '../errors/run-timeout-error.js'
import { deserializeJobOutcome, serializeJobOutcome } from './job-outcome.js'
import type { JobOutcome } from './types.js'

/** What a distributed engine does: store the outcome as JSON, read it back elsewhere. */
const throughJson = (outcome: JobOutcome) =>
  deserializeJobOutcome(JSON.parse(JSON.stringify(serializeJobOutcome(outcome))))

const base = { agentId: 'a1', task: 'research', attempts: 2 }

describe('serializeJobOutcome / deserializeJobOutcome', () => {
  it('keeps a complete outcome as is', () => {
    const outcome: JobOutcome = { ...base, status: 'complete', result: { found: ['x'] } }
    expect(throughJson(outcome)).toEqual(outcome)
  })

  it('rebuilds RunTimeoutError with its limit', () => {
    const back = throughJson({ ...base, status: 'error', error: new RunTimeoutError(250) })
    expect(back.status).toBe('error')
    const error = (back as { error: Error }).error
    expect(RunTimeoutError.isInstance(error)).toBe(true)
    expect((error as RunTimeoutError).timeoutMs).toBe(250)
  })

  it('rebuilds RunCanceledError with its message', () => {
    const back = throughJson({ ...base, status: 'canceled', error: new RunCanceledError('The pool closed.') })
    const error = (back as { error: Error }).error
    expect(RunCanceledError.isInstance(error)).toBe(true)
    expect(error.message).toBe('The pool closed.')
  })

  it('rebuilds any other error with its name, message and stack', () => {
    const original = new TypeError('bad shape')
    const back = throughJson({ ...base, status: 'error', error: original })
    const error = (back as { error: Error }).error
    expect(error).toBeInstanceOf(Error)
    expect(error).toMatchObject({ name: 'TypeError', message: 'bad shape', stack: original.stack })
  })
})
