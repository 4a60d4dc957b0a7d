import { AsyncLocalStorage } from 'node:async_hooks'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createActivityTracker } from '../activity/tracker.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { createPool } from '../pool/create-pool.js'
import { ScriptedModel, ScriptedRunner } from '../test/scripted-runner.js'
import { defineTool } from '../tools/define-tool.js'
import { type Instrumentation, registerInstrumentation } from './instrumentation.js'

const unregister: Array<() => void> = []
afterEach(() => {
  for (const done of unregister.splice(0)) done()
})
function register(instrumentation: Instrumentation): () => void {
  const done = registerInstrumentation(instrumentation)
  unregister.push(done)
  return done
}

const searchTool = defineTool({
  name: 'search',
  description: 'Searches',
  inputSchema: z.object({ query: z.string() }),
  execute: async ({ query }) => `results for ${query}`,
})

const script = () =>
  new ScriptedModel([
    { toolCalls: [{ name: 'report_status', input: { message: 'Searching', percentage: 30 } }] },
    { toolCalls: [{ name: 'search', input: { query: 'otters' } }] },
    { text: 'Otters hold hands.' },
  ])

describe('registerInstrumentation', () => {
  it("fires the instrumentation's hooks for every run, after the runner's and the run's", async () => {
    const order: string[] = []
    const statuses: Array<{ message: string; kind?: string }> = []
    register({
      hooks: {
        onRunStart: () => void order.push('instrumentation:onRunStart'),
        onModelCallStart: () => void order.push('instrumentation:onModelCallStart'),
        onToolCallStart: (event) => void order.push(`instrumentation:onToolCallStart:${event.toolName}`),
        onToolCallEnd: (event) => void order.push(`instrumentation:onToolCallEnd:${event.toolName}`),
        onStatusUpdate: (event) => {
          statuses.push(event.kind === undefined ? { message: event.message } : event)
        },
        onRunEnd: () => void order.push('instrumentation:onRunEnd'),
      },
    })
    const runner = new ScriptedRunner({
      activity: createActivityTracker(),
      hooks: { onRunStart: () => void order.push('runner:onRunStart') },
    })
    const result = await runner.run({ model: script(), tools: [searchTool] }, 'otters', {
      hooks: {
        onRunStart: () => void order.push('run:onRunStart'),
        onRunEnd: () => void order.push('run:onRunEnd'),
      },
    })
    expect(result.status).toBe('complete')
    expect(order.slice(0, 3)).toEqual(['runner:onRunStart', 'run:onRunStart', 'instrumentation:onRunStart'])
    expect(order).toContain('instrumentation:onToolCallStart:search')
    expect(order).toContain('instrumentation:onToolCallEnd:search')
    expect(order.filter((entry) => entry === 'instrumentation:onModelCallStart')).toHaveLength(3)
    expect(order.slice(-2)).toEqual(['run:onRunEnd', 'instrumentation:onRunEnd'])
    expect(statuses).toContainEqual(expect.objectContaining({ message: 'Searching', kind: 'progress' }))
  })

  it('ignores what its hooks throw: the run succeeds, and a tool decision of its own is ignored', async () => {
    register({
      hooks: {
        onRunStart: () => {
          throw new Error('broken exporter')
        },
        onModelCallEnd: async () => {
          throw new Error('broken exporter')
        },
        onToolCallStart: () => ({ deny: 'instrumentations do not decide' }) as never,
      },
    })
    const runner = new ScriptedRunner({ activity: createActivityTracker() })
    const result = await runner.run({ model: script(), tools: [searchTool] }, 'otters')
    expect(result.status).toBe('complete')
    const toolStep = result.trajectory?.steps.find(
      (step) => step.kind === 'tool-call' && step.data.toolName === 'search',
    )
    expect(toolStep?.data).toMatchObject({ toolName: 'search', output: 'results for otters', isError: false })
  })

  it('stops firing once unregistered', async () => {
    let runs = 0
    const done = register({ hooks: { onRunStart: () => void runs++ } })
    const runner = new ScriptedRunner({ activity: createActivityTracker() })
    await runner.run({ model: new ScriptedModel([{ text: 'a' }]) }, 'x')
    done()
    done()
    await runner.run({ model: new ScriptedModel([{ text: 'b' }]) }, 'x')
    expect(runs).toBe(1)
  })

  it("runs each attempt inside withRun, so what the framework does sees the run's context", async () => {
    const storage = new AsyncLocalStorage<string>()
    let seen: string | undefined
    register({
      withRun: (run, fn) => storage.run(`run ${run.agentId}`, fn),
    })
    const probe = defineTool({
      name: 'probe',
      description: 'Reads the context',
      inputSchema: z.object({}),
      execute: async () => {
        seen = storage.getStore()
        return 'ok'
      },
    })
    const runner = new ScriptedRunner({ activity: createActivityTracker() })
    await runner.run(
      {
        model: new ScriptedModel([{ toolCalls: [{ name: 'probe', input: {} }] }, { text: 'done' }]),
        tools: [probe],
      },
      'x',
      { agentId: 'r1' },
    )
    expect(seen).toBe('run r1')
  })

  it('refuses what is not an instrumentation with InvalidOptionsError naming the field', () => {
    expect(() => registerInstrumentation(null as never)).toThrow(InvalidOptionsError)
    expect(() => registerInstrumentation({ hooks: { onRunStart: 'x' } } as never)).toThrow(
      /hooks\.onRunStart/,
    )
    expect(() => registerInstrumentation({ inject: {} } as never)).toThrow(/inject: must be a function/)
  })
})

describe('the pool carries the trace context of the caller to the job', () => {
  it('inject() at enqueue is kept on the job and the job runs inside withContext(job.trace)', async () => {
    const storage = new AsyncLocalStorage<string>()
    const carriers: Array<Record<string, string> | undefined> = []
    register({
      inject: () => {
        const trace = storage.getStore()
        return trace ? { traceparent: trace } : undefined
      },
      withContext: (carrier, fn) => {
        carriers.push(carrier)
        return storage.run(carrier?.traceparent ?? 'none', fn)
      },
    })
    const pool = createPool({ activity: createActivityTracker(), concurrency: 1 })
    const task = pool.task('probe', { input: z.object({}) }, async () => storage.getStore() ?? 'outside')
    const traced = await storage.run('00-trace-of-the-caller-01', () => task.enqueue({}))
    await expect(task.result(traced.agentId)).resolves.toBe('00-trace-of-the-caller-01')
    const untraced = await task.enqueue({})
    await expect(task.result(untraced.agentId)).resolves.toBe('none')
    expect(carriers).toEqual([{ traceparent: '00-trace-of-the-caller-01' }, undefined])
    await pool.close()
  })
})
