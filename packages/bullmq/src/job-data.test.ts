import { RunCanceledError, RunTimeoutError } from '@runner/core'
import { type JobOutcome, serializeJobOutcome } from '@runner/core/engine'
import type { Job } from 'bullmq'
import { describe, expect, it } from 'vitest'
import { agentIdOf, describeFailure, isValidJobId, jobIdOf, parseOutcome, readPoolJob } from './job-data.js'

describe('isValidJobId', () => {
  it('accepts UUIDs and names, refuses what BullMQ cannot take as a job id', () => {
    expect(isValidJobId('0b5e6c1e-2f9a-4d7e-8d0c-5b1f6f0e2a11')).toBe(true)
    expect(isValidJobId('report-2024')).toBe(true)
    expect(isValidJobId('007')).toBe(true)
    expect(isValidJobId('42')).toBe(false)
    expect(isValidJobId('tenant:42')).toBe(false)
    expect(isValidJobId('')).toBe(false)
  })
})

describe('readPoolJob', () => {
  const job = (data: unknown, id = 'a1') => ({ id, data, queueName: 'q', timestamp: 0 }) as unknown as Job

  it('reads the PoolJob of a job', () => {
    const data = {
      agentId: 'a1',
      task: 't',
      input: { x: 1 },
      priority: 3,
      delayMs: 0,
      attempt: 1,
      enqueuedAt: 'x',
    }
    expect(readPoolJob(job(data))).toEqual(data)
  })

  it('reads the resume of a task that waited for decisions, under its own job id', () => {
    const data = {
      agentId: 'a1',
      task: 't',
      priority: 0,
      delayMs: 0,
      attempt: 1,
      enqueuedAt: 'x',
      resumed: 2,
    }
    expect(readPoolJob(job(data, 'a1:resume:2'))).toEqual(data)
    // The id must be the one of that resume.
    expect(() => readPoolJob(job(data, 'a1'))).toThrow(/is not a task of a @runner pool/)
    expect(() => readPoolJob(job({ ...data, resumed: 0 }, 'a1:resume:0'))).toThrow(
      /is not a task of a @runner pool/,
    )
  })

  it('carries the trace context of the process that enqueued it, unchanged; drops one of another shape', () => {
    const trace = {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'a=1',
    }
    const data = { agentId: 'a1', task: 't', priority: 0, delayMs: 0, attempt: 1, enqueuedAt: 'x', trace }
    expect(readPoolJob(job(data))).toEqual(data)
    const { trace: _dropped, ...rest } = data
    expect(readPoolJob(job({ ...rest, trace: { traceparent: 1 } }))).toEqual(rest)
    expect(readPoolJob(job({ ...rest, trace: ['x'] }))).toEqual(rest)
  })

  it('carries the concurrency key and limit (the fair dispatch reads them at start); drops malformed ones', () => {
    const base = { agentId: 'a1', task: 't', priority: 0, delayMs: 0, attempt: 1, enqueuedAt: 'x' }
    const data = { ...base, concurrencyKey: 'acme', concurrencyLimit: 2 }
    expect(readPoolJob(job(data))).toEqual(data)
    expect(readPoolJob(job({ ...base, concurrencyKey: 'acme' }))).toEqual({ ...base, concurrencyKey: 'acme' })
    expect(readPoolJob(job({ ...base, concurrencyKey: 'acme', concurrencyLimit: 0 }))).toEqual({
      ...base,
      concurrencyKey: 'acme',
    })
    expect(readPoolJob(job({ ...base, concurrencyKey: '', concurrencyLimit: 2 }))).toEqual(base)
  })

  it('refuses a job that is not a pool job, without retry', () => {
    expect(() => readPoolJob(job({ hello: 'world' }))).toThrow(/is not a task of a @runner pool/)
    expect(() => readPoolJob(job({ agentId: 'other', task: 't' }))).toThrow(/is not a task of a @runner pool/)
    try {
      readPoolJob(job(null))
    } catch (error) {
      expect((error as Error).name).toBe('UnrecoverableError')
    }
  })
})

describe('jobIdOf / agentIdOf', () => {
  it('gives a resume its own id, which BullMQ takes and which no agentId can be', () => {
    expect(jobIdOf({ agentId: 'a1' })).toBe('a1')
    expect(jobIdOf({ agentId: 'a1', resumed: 3 })).toBe('a1:resume:3')
    expect(isValidJobId('a1:resume:3')).toBe(false)
    expect(agentIdOf('a1:resume:3')).toBe('a1')
    expect(agentIdOf('a1')).toBe('a1')
  })
})

describe('parseOutcome', () => {
  it('rebuilds stored outcomes, errors as their classes', () => {
    const complete: JobOutcome = {
      agentId: 'a',
      task: 't',
      status: 'complete',
      attempts: 1,
      result: { ok: true },
    }
    expect(parseOutcome(JSON.parse(JSON.stringify(serializeJobOutcome(complete))))).toEqual(complete)
    const canceled = parseOutcome(
      JSON.parse(
        JSON.stringify(
          serializeJobOutcome({
            agentId: 'a',
            task: 't',
            status: 'canceled',
            attempts: 0,
            error: new RunCanceledError('stop'),
          }),
        ),
      ),
    )
    expect(RunCanceledError.isInstance(canceled?.status === 'canceled' && canceled.error)).toBe(true)
    const timedOut = parseOutcome(
      serializeJobOutcome({
        agentId: 'a',
        task: 't',
        status: 'error',
        attempts: 2,
        error: new RunTimeoutError(50),
      }),
    )
    expect(timedOut?.status === 'error' && RunTimeoutError.isInstance(timedOut.error)).toBe(true)
  })

  it('reads a waiting outcome (a task that waits for decisions)', () => {
    const waiting: JobOutcome = {
      agentId: 'a',
      task: 't',
      status: 'waiting',
      attempts: 1,
      pending: [{ id: 'call-1', kind: 'approval', toolName: 'send', input: {} }],
    }
    expect(parseOutcome(JSON.parse(JSON.stringify(serializeJobOutcome(waiting))))).toEqual(waiting)
    expect(parseOutcome({ agentId: 'a', task: 't', status: 'waiting', attempts: 1 })).toBeUndefined()
  })

  it('ignores values that are not outcomes', () => {
    expect(parseOutcome(null)).toBeUndefined()
    expect(parseOutcome('done')).toBeUndefined()
    expect(parseOutcome({ agentId: 'a', task: 't', status: 'complete' })).toBeUndefined()
    expect(
      parseOutcome({ agentId: 'a', task: 't', status: 'error', attempts: 1, error: 'boom' }),
    ).toBeUndefined()
  })
})

describe('describeFailure', () => {
  it('explains BullMQ’s stalled-job limit, and passes other reasons through', () => {
    expect(describeFailure('job stalled more than allowable limit')).toBe(
      'Worker lost more times than maxStalledCount allows; giving up (BullMQ: job stalled more than allowable limit)',
    )
    expect(describeFailure('something else')).toBe('something else')
  })
})
