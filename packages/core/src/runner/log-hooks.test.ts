import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryActivityStore } from '../activity/memory-store.js'
import { createActivityTracker } from '../activity/tracker.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { createPool } from '../pool/create-pool.js'
import { rejectionOf } from '../test/rejection-of.js'
import { ScriptedModel, ScriptedRunner, type ScriptStep } from '../test/scripted-runner.js'
import { searchTool } from '../test/search-tool.js'
import { defineTool } from '../tools/define-tool.js'
import { withFallback } from './with-fallback.js'

type Line = Record<string, unknown> & { event: string; level: number; msg: string }

/** A real pino logger writing JSON lines to a destination read back here. */
function capture(level: 'debug' | 'info' = 'debug') {
  const lines: Line[] = []
  const logger = pino(
    { level },
    {
      write(chunk: string) {
        for (const text of chunk.split('\n')) if (text) lines.push(JSON.parse(text) as Line)
      },
    },
  )
  return {
    logger,
    lines,
    events: () => lines.map((line) => line.event),
    line: (event: string) => {
      const found = lines.find((line) => line.event === event)
      expect(found, `a ${event} line`).toBeDefined()
      return found as Line
    },
    text: () => lines.map((line) => JSON.stringify(line)).join('\n'),
  }
}

const debug = 20
const info = 30
const warn = 40
const error = 50

const toolScript = (): ScriptStep[] => [
  {
    toolCalls: [{ name: 'search', input: { query: 'otter habitats' }, id: 'call-1' }],
    usage: { inputTokens: 10, outputTokens: 4 },
  },
  { text: 'Otters live by rivers.', usage: { inputTokens: 20, outputTokens: 6 } },
]

const unavailable = () => Object.assign(new Error('503 Service Unavailable'), { status: 503 })

describe('structured logs of a run (structuredLogger)', () => {
  it('a run with a tool call writes run.start, model.call, tool.call, model.call, run.end with the fields, and no content', async () => {
    const log = capture()
    const { tool } = searchTool()
    const runner = new ScriptedRunner({ structuredLogger: log.logger, name: 'scripted' })
    const result = await runner.run(
      { model: new ScriptedModel(toolScript()), tools: [tool] },
      'Where do otters live?',
      {
        agentId: 'log-1',
        agentType: 'researcher',
        metadata: { tenant: 'tenant-acme-42' },
      },
    )
    expect(result.status).toBe('complete')

    expect(log.events()).toEqual(['run.start', 'model.call', 'tool.call', 'model.call', 'run.end'])
    for (const line of log.lines) {
      expect(line).toMatchObject({ agentId: 'log-1', agentType: 'researcher', attempt: 1 })
      expect(line.msg).toBe(line.event)
    }
    expect(log.line('run.start')).toMatchObject({ level: info, turn: 0, runner: 'scripted' })
    const [firstCall, secondCall] = log.lines.filter((line) => line.event === 'model.call')
    expect(firstCall).toMatchObject({
      level: debug,
      turn: 1,
      inputTokens: 10,
      outputTokens: 4,
      toolCalls: 1,
    })
    expect(firstCall?.durationMs).toEqual(expect.any(Number))
    expect(secondCall).toMatchObject({ turn: 2, inputTokens: 20, outputTokens: 6, toolCalls: 0 })
    const toolCall = log.line('tool.call')
    expect(toolCall).toMatchObject({
      level: debug,
      turn: 1,
      tool: 'search',
      toolCallId: 'call-1',
      isError: false,
    })
    expect(toolCall.durationMs).toEqual(expect.any(Number))
    expect(log.line('run.end')).toMatchObject({
      level: info,
      turn: 2,
      status: 'complete',
      turns: 2,
      attempts: 1,
      totalTokens: 40,
      maxTurnsReached: false,
    })
    expect(log.line('run.end').durationMs).toEqual(expect.any(Number))

    // Never by default: the input, the answer, tool inputs and outputs, metadata values.
    const written = log.text()
    for (const content of [
      'Where do otters',
      'Otters live',
      'otter habitats',
      'results for',
      'tenant-acme-42',
    ])
      expect(written).not.toContain(content)
  })

  it('logContent: true adds the input, the answers, tool inputs and outputs, and metadata', async () => {
    const log = capture()
    const { tool } = searchTool()
    const runner = new ScriptedRunner({ structuredLogger: log.logger, logContent: true })
    await runner.run({ model: new ScriptedModel(toolScript()), tools: [tool] }, 'Where do otters live?', {
      metadata: { tenant: 'tenant-acme-42' },
    })
    expect(log.line('run.start')).toMatchObject({
      input: 'Where do otters live?',
      metadata: { tenant: 'tenant-acme-42' },
    })
    expect(log.line('tool.call')).toMatchObject({
      input: { query: 'otter habitats' },
      output: 'results for otter habitats',
    })
    expect(log.lines.filter((line) => line.event === 'model.call').map((line) => line.text)).toEqual([
      '',
      'Otters live by rivers.',
    ])
    expect(log.line('model.call').toolCallInputs).toEqual([
      { tool: 'search', input: { query: 'otter habitats' } },
    ])
    expect(log.line('run.end').text).toBe('Otters live by rivers.')
  })

  it('a retried run writes attempt.retry at warn with the error, then ends on attempt 2', async () => {
    const log = capture()
    const runner = new ScriptedRunner({
      structuredLogger: log.logger,
      retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 1 },
    })
    const result = await runner.run(
      { model: new ScriptedModel([{ error: unavailable() }, { text: 'ok' }]) },
      'hi',
    )
    expect(result.attempts).toBe(2)
    expect(log.events()).toEqual(['run.start', 'attempt.retry', 'model.call', 'run.end'])
    expect(log.line('attempt.retry')).toMatchObject({
      level: warn,
      attempt: 1,
      nextAttempt: 2,
      maxAttempts: 3,
      delayMs: 1,
      errorName: 'Error',
      error: '503 Service Unavailable',
    })
    expect(log.line('run.end')).toMatchObject({ attempt: 2, attempts: 2 })
  })

  it('a failed run writes run.error at error level, with a secret in the error message redacted', async () => {
    const log = capture()
    const runner = new ScriptedRunner({ structuredLogger: log.logger, retry: { attempts: 1 } })
    const key = 'sk-proj-abcdefghijklmnopqrstuvwx'
    const failure = new Error(`401 Unauthorized: Incorrect API key provided: ${key}`)
    const thrown = await rejectionOf(runner.run({ model: new ScriptedModel([{ error: failure }]) }, 'hi'))
    expect(thrown).toBe(failure)
    expect(log.events()).toEqual(['run.start', 'run.error'])
    const line = log.line('run.error')
    expect(line).toMatchObject({ level: error, attempt: 1, errorName: 'Error' })
    expect(line.error).toBe('401 Unauthorized: Incorrect API key provided: [REDACTED]')
    expect(line.durationMs).toEqual(expect.any(Number))
    expect(log.text()).not.toContain(key)
  })

  it('a canceled run writes run.canceled at info', async () => {
    const log = capture()
    const runner = new ScriptedRunner({ structuredLogger: log.logger })
    const controller = new AbortController()
    const running = runner.run({ model: new ScriptedModel([{ hang: true }]) }, 'hi', {
      agentId: 'log-cancel',
      signal: controller.signal,
    })
    await new Promise((resolve) => setTimeout(resolve, 20))
    controller.abort()
    expect(RunCanceledError.isInstance(await rejectionOf(running))).toBe(true)
    expect(log.events()).toEqual(['run.start', 'run.canceled'])
    expect(log.line('run.canceled')).toMatchObject({
      level: info,
      agentId: 'log-cancel',
      errorName: 'RunCanceledError',
    })
  })

  it('a durable run that waits for approval writes run.waiting; its resume writes run.resumed and ends', async () => {
    const log = capture()
    const store = new MemoryActivityStore()
    const sendEmail = defineTool({
      name: 'send_email',
      description: 'Sends an email',
      inputSchema: z.object({ to: z.string() }),
      needsApproval: true,
      execute: ({ to }) => `sent to ${to}`,
    })
    const runner = new ScriptedRunner({
      structuredLogger: log.logger,
      activity: createActivityTracker({ store }),
      retry: { attempts: 1 },
    })
    const model = new ScriptedModel([
      { toolCalls: [{ name: 'send_email', input: { to: 'ada@example.org' }, id: 'call-email' }] },
      { text: 'Sent.' },
    ])
    const waiting = await runner.run({ model, tools: [sendEmail] }, 'Email Ada', { agentId: 'log-wait' })
    expect(waiting.status).toBe('waiting')
    expect(log.events()).toEqual(['run.start', 'model.call', 'run.waiting'])
    expect(log.line('run.waiting')).toMatchObject({ level: info, agentId: 'log-wait', pending: 1, turns: 1 })
    expect(log.text()).not.toContain('ada@example.org')

    log.lines.length = 0
    await runner.approve('log-wait', 'call-email', { by: 'grace' })
    const done = await runner.resume({ model, tools: [sendEmail] }, 'log-wait')
    expect(done.status).toBe('complete')
    expect(log.events()).toEqual(['run.resumed', 'run.start', 'tool.call', 'model.call', 'run.end'])
    expect(log.line('run.resumed')).toMatchObject({ level: info, agentId: 'log-wait', attempt: 1 })
    expect(log.line('run.resumed').message).toContain('Resumed at turn 1')
    expect(log.line('tool.call')).toMatchObject({ tool: 'send_email', isError: false })
    expect(log.line('run.end')).toMatchObject({ status: 'complete', turn: 2 })
  })

  it('writes status reports at debug (their text only with logContent), wrap-up at info and fallback at warn', async () => {
    const log = capture()
    const runner = new ScriptedRunner({ structuredLogger: log.logger, maxTurns: 1, maxTurnsRecovery: true })
    await runner.run(
      {
        model: new ScriptedModel([
          {
            toolCalls: [
              { name: 'report_status', input: { message: 'Reading the otter survey', percentage: 40 } },
            ],
          },
          { text: 'Summary.' },
        ]),
      },
      'hi',
    )
    expect(log.events()).toEqual([
      'run.start',
      'model.call',
      'status',
      'tool.call',
      'wrap-up',
      'model.call',
      'run.end',
    ])
    expect(log.line('status')).toMatchObject({ level: debug, status: 'running', percentage: 40 })
    expect(log.line('status').message).toBeUndefined()
    expect(log.line('wrap-up')).toMatchObject({ level: info, turn: 2, maxTurns: 1 })
    expect(log.line('run.end')).toMatchObject({ maxTurnsReached: true })

    const withContent = capture()
    const verbose = new ScriptedRunner({ structuredLogger: withContent.logger, logContent: true })
    await verbose.run(
      {
        model: new ScriptedModel([
          {
            toolCalls: [
              { name: 'report_status', input: { message: 'Reading the otter survey', percentage: 40 } },
            ],
          },
          { text: 'Summary.' },
        ]),
      },
      'hi',
    )
    expect(withContent.line('status').message).toBe('Reading the otter survey')

    const fallbackLog = capture()
    const chain = withFallback(
      {
        runner: new ScriptedRunner({ name: 'primary', structuredLogger: fallbackLog.logger }),
        agent: {
          model: new ScriptedModel([{ error: Object.assign(new Error('529 Overloaded'), { status: 529 }) }]),
        },
      },
      {
        runner: new ScriptedRunner({ name: 'secondary' }),
        agent: { model: new ScriptedModel([{ text: 'ok' }]) },
      },
    )
    await chain.run({ model: new ScriptedModel([]) }, 'hi', { retry: { attempts: 1 } })
    expect(fallbackLog.events()).toEqual(['run.start', 'fallback', 'model.call', 'run.end'])
    expect(fallbackLog.line('fallback')).toMatchObject({
      level: warn,
      message: 'Falling back to secondary: 529 Overloaded',
    })
  })

  it('at level info the debug lines (model and tool calls, status) are not written', async () => {
    const log = capture('info')
    const { tool } = searchTool()
    const runner = new ScriptedRunner({ structuredLogger: log.logger })
    await runner.run({ model: new ScriptedModel(toolScript()), tools: [tool] }, 'hi')
    expect(log.events()).toEqual(['run.start', 'run.end'])
  })

  it('a logger that throws never fails the run', async () => {
    const calls: string[] = []
    const throwing = (level: string) => () => {
      calls.push(level)
      throw new Error('the log sink is closed')
    }
    const logger = {
      info: throwing('info'),
      warn: throwing('warn'),
      error: throwing('error'),
      debug: throwing('debug'),
    }
    const { tool } = searchTool()
    const runner = new ScriptedRunner({
      structuredLogger: logger,
      retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
    })
    const result = await runner.run(
      { model: new ScriptedModel([{ error: unavailable() }, ...toolScript()]), tools: [tool] },
      'hi',
    )
    expect(result.status).toBe('complete')
    expect(result.text).toBe('Otters live by rivers.')
    expect(calls).toEqual(['info', 'warn', 'debug', 'debug', 'debug', 'info'])
  })

  it('console is accepted; a bad logger or logContent is refused naming the field', () => {
    expect(() => new ScriptedRunner({ structuredLogger: console })).not.toThrow()
    for (const logger of [
      {},
      'pino',
      { info() {}, warn() {} },
      { info() {}, warn() {}, error() {}, debug: 1 },
    ]) {
      const thrown = (() => {
        try {
          new ScriptedRunner({ structuredLogger: logger as never })
        } catch (caught) {
          return caught
        }
      })()
      expect(InvalidOptionsError.isInstance(thrown)).toBe(true)
      expect((thrown as InvalidOptionsError).field).toBe('structuredLogger')
      expect((thrown as InvalidOptionsError).message).toContain(
        'must be a logger with info, warn and error methods',
      )
    }
    expect(() => new ScriptedRunner({ logContent: 'yes' as never })).toThrow(
      /logContent: must be true or false/,
    )
    expect(() => createPool({ structuredLogger: 'pino' as never })).toThrow(
      expect.objectContaining({ name: 'InvalidOptionsError', field: 'structuredLogger' }),
    )
  })
})

describe('structured logs of a pool (structuredLogger)', () => {
  it('a task writes task.enqueued, task.start and task.end; a failing one task.failed; the runner inside logs its own run', async () => {
    const log = capture()
    const pool = createPool({ structuredLogger: log.logger })
    const runner = new ScriptedRunner({
      activity: pool.activity,
      structuredLogger: log.logger,
      retry: { attempts: 1 },
    })
    const research = pool.task(
      'research',
      { input: z.object({ topic: z.string() }) },
      async ({ agentId, input }) => {
        const result = await runner.run(
          { model: new ScriptedModel([{ text: `about ${input.topic}` }]) },
          input.topic,
          {
            agentId,
          },
        )
        return result.text
      },
    )
    const failing = pool.task('failing', { input: z.object({}) }, async () => {
      throw new Error('password=hunter2hunter2 rejected')
    })
    try {
      const { agentId } = await research.enqueue(
        { topic: 'kelp forests' },
        { metadata: { tenant: 'tenant-acme-42' } },
      )
      await expect(pool.result(agentId)).resolves.toBe('about kelp forests')
      const mine = log.lines.filter((line) => line.agentId === agentId)
      expect(mine.map((line) => line.event)).toEqual([
        'task.enqueued',
        'task.start',
        'run.start',
        'model.call',
        'run.end',
        'task.end',
      ])
      for (const line of mine)
        expect(line).toMatchObject({
          agentId,
          agentType: line.event.startsWith('task.') ? 'research' : 'ScriptedRunner',
        })
      expect(log.line('task.enqueued')).toMatchObject({ level: info, task: 'research', priority: 0 })
      expect(log.line('task.start')).toMatchObject({ level: info, task: 'research', attempt: 1 })
      expect(log.line('task.end')).toMatchObject({
        level: info,
        task: 'research',
        attempt: 1,
        status: 'complete',
      })
      expect(log.line('task.end').durationMs).toEqual(expect.any(Number))
      expect(log.text()).not.toContain('kelp forests')
      expect(log.text()).not.toContain('tenant-acme-42')

      const failed = await failing.enqueue({})
      await expect(pool.result(failed.agentId)).rejects.toThrow('rejected')
      const failure = log.line('task.failed')
      expect(failure).toMatchObject({ level: error, agentId: failed.agentId, task: 'failing', attempt: 1 })
      expect(failure.error).toBe('password=[REDACTED] rejected')
    } finally {
      await pool.close()
    }
  })

  it('with logContent the task lines carry the input, metadata and result; a canceled task writes task.canceled', async () => {
    const log = capture()
    const pool = createPool({ structuredLogger: log.logger, logContent: true, concurrency: 1 })
    const echo = pool.task('echo', { input: z.object({ word: z.string() }) }, async ({ input }) => input.word)
    const blocker = pool.task('blocker', { input: z.object({}) }, ({ signal }) => {
      return new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
      )
    })
    try {
      const { agentId } = await echo.enqueue({ word: 'kelp' }, { metadata: { tenant: 'acme' } })
      await pool.result(agentId)
      expect(log.line('task.enqueued')).toMatchObject({
        input: { word: 'kelp' },
        metadata: { tenant: 'acme' },
      })
      expect(log.line('task.end')).toMatchObject({ result: 'kelp' })
      const batch = await pool.enqueueMany([
        { task: 'echo', input: { word: 'one' } },
        { task: 'echo', input: { word: 'two' } },
      ])
      const enqueued = log.lines.filter(
        (line) => line.event === 'task.enqueued' && batch.some((item) => item.agentId === line.agentId),
      )
      expect(enqueued.map((line) => line.input)).toEqual([{ word: 'one' }, { word: 'two' }])
      await Promise.all(batch.map((item) => pool.result(item.agentId)))

      const blocking = await blocker.enqueue({})
      const queued = await echo.enqueue({ word: 'never' })
      expect(await pool.cancel(queued.agentId)).toBe(true)
      expect(await pool.cancel(blocking.agentId)).toBe(true)
      const canceled = log.lines.filter((line) => line.event === 'task.canceled')
      expect(canceled.map((line) => line.agentId).sort()).toEqual([blocking.agentId, queued.agentId].sort())
      for (const line of canceled) expect(line).toMatchObject({ level: info, errorName: 'RunCanceledError' })
    } finally {
      await pool.close()
    }
  })

  it('a logger that throws never fails a task', async () => {
    const fail = () => {
      throw new Error('the log sink is closed')
    }
    const pool = createPool({ structuredLogger: { info: fail, warn: fail, error: fail, debug: fail } })
    const echo = pool.task('echo', { input: z.object({ word: z.string() }) }, async ({ input }) => input.word)
    try {
      const { agentId } = await echo.enqueue({ word: 'kelp' })
      await expect(pool.result(agentId)).resolves.toBe('kelp')
    } finally {
      await pool.close()
    }
  })
})
