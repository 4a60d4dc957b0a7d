import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryActivityStore } from '../activity/memory-store.js'
import { createActivityTracker } from '../activity/tracker.js'
import { BudgetExceededError } from '../errors/budget-exceeded-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { createPool } from '../pool/create-pool.js'
import type { RunEvent } from '../runner/events.js'
import { completed } from '../test/completed.js'
import { rejectionOf } from '../test/rejection-of.js'
import { ScriptedModel, ScriptedRunner, type ScriptStep } from '../test/scripted-runner.js'
import { defineTool } from '../tools/define-tool.js'
import { createRateLimiter } from './rate-limit.js'
import { createSharedBudget } from './shared-budget.js'

const searched: string[] = []
const search = defineTool({
  name: 'search',
  description: 'Searches',
  inputSchema: z.object({ query: z.string() }),
  execute: async ({ query }) => {
    searched.push(query)
    return `results for ${query}`
  },
})

const tokens = (total: number) => ({
  inputTokens: total - Math.floor(total / 10),
  outputTokens: Math.floor(total / 10),
  totalTokens: total,
})

/** A model that searches `searches` times (`each` tokens per call), then answers. */
function searching(searches: number, each = 5000): ScriptStep[] {
  const steps: ScriptStep[] = []
  for (let index = 0; index < searches; index++)
    steps.push({ toolCalls: [{ name: 'search', input: { query: `q${index}` } }], usage: tokens(each) })
  steps.push({ text: 'Here is what I found.', usage: tokens(each) })
  return steps
}

function tracked() {
  const store = new MemoryActivityStore()
  return { store, activity: createActivityTracker({ store }) }
}

const messagesOf = async (store: MemoryActivityStore, agentId: string) =>
  (await store.get(agentId))?.log.map((entry) => entry.message) ?? []

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now()
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('shared budgets: runs', () => {
  it('runs of one key share its spending: a later run stops before the call that would go past it; other keys are untouched', async () => {
    const daily = createSharedBudget({ name: 'tenant-daily', maxTokens: 12_000, window: 'day' })
    const { store, activity } = tracked()
    const runner = new ScriptedRunner({ activity })
    const acme = { budget: { shared: { budget: daily, key: 'acme' } } }

    // 10,000 tokens: under the limit when each call was asked for.
    const first = new ScriptedModel(searching(1))
    await completed(runner.run({ model: first, tools: [search] }, 'first', { ...acme, agentId: 'first' }))
    expect(await daily.spent('acme')).toMatchObject({ tokens: 10_000, costUsd: 0 })

    // 10,000 spent: one call (15,000), then the budget is reached before the next.
    const second = new ScriptedModel(searching(3))
    const stream = runner.runStreamed({ model: second, tools: [search] }, 'second', {
      ...acme,
      agentId: 'second',
    })
    const events: RunEvent[] = []
    for await (const event of stream) events.push(event)
    const error = await rejectionOf(stream.result)
    expect(second.calls).toHaveLength(1)
    expect(BudgetExceededError.isInstance(error)).toBe(true)
    const budgetError = error as BudgetExceededError
    expect(budgetError).toMatchObject({ budget: 'maxTokens', limit: 12_000, spent: 15_000 })
    expect(budgetError.shared).toMatchObject({ name: 'tenant-daily', key: 'acme', per: 'per day' })
    const midnight = new Date(Math.ceil((Date.now() + 1) / 86_400_000) * 86_400_000).toISOString()
    expect(budgetError.shared?.resetsAt).toBe(midnight)
    const line = `Budget tenant-daily reached for "acme": 15,000 of 12,000 tokens per day (until ${midnight})`
    expect(budgetError.message).toContain(line)
    expect(await messagesOf(store, 'second')).toContain(line)
    expect((await store.get('second'))?.status).toBe('error')
    expect(events).toContainEqual(expect.objectContaining({ type: 'status-update', message: line }))
    const trajectory = await store.getTrajectory('second')
    expect(trajectory?.steps.at(-1)).toMatchObject({
      kind: 'note',
      data: { message: 'shared budget tenant-daily.maxTokens reached', budget: 'maxTokens', spent: 15_000 },
    })

    // Another key has its own spending.
    const other = new ScriptedModel(searching(1))
    await completed(
      runner.run({ model: other, tools: [search] }, 'globex', {
        budget: { shared: { budget: daily, key: 'globex' } },
      }),
    )
    expect((await daily.spent('globex')).tokens).toBe(10_000)
  })

  it("onExceeded: 'wrap-up' makes one last call and completes with budgetExceeded; the run's own limits still apply", async () => {
    const daily = createSharedBudget({ name: 'daily', maxTokens: 4000, window: 'day' })
    const runner = new ScriptedRunner()
    const steps = searching(4)
    steps[1] = { text: 'Otters hold hands.', usage: tokens(5000) }
    const model = new ScriptedModel(steps)
    const result = await completed(
      runner.run({ model, tools: [search] }, 'x', {
        budget: { onExceeded: 'wrap-up', shared: { budget: daily, key: 'acme' } },
      }),
    )
    expect(model.calls).toHaveLength(2)
    expect(model.calls[1]?.wrapUp).toBe(true)
    expect(model.calls[1]?.toolNames).toEqual([])
    expect(result.text).toBe('Otters hold hands.')
    expect(result.budgetExceeded).toBe(true)
    expect((await daily.spent('acme')).tokens).toBe(10_000)

    // Two budgets at once: the run's own maxTokens stops it first here.
    const roomy = createSharedBudget({ name: 'roomy', maxTokens: 1_000_000, window: 'hour' })
    const error = await rejectionOf(
      runner.run({ model: new ScriptedModel(searching(3)), tools: [search] }, 'y', {
        budget: { maxTokens: 6000, shared: [{ budget: roomy, key: 'acme' }] },
      }),
    )
    expect(error).toMatchObject({ budget: 'maxTokens', limit: 6000, shared: undefined })
    expect((await roomy.spent('acme')).tokens).toBe(10_000)
  })

  it('counts cost: maxCostUsd of a priced model', async () => {
    const daily = createSharedBudget({ name: 'spend', maxCostUsd: 0.01, window: 'day' })
    const runner = new ScriptedRunner({
      prices: { 'scripted/m': { inputPerMTokUsd: 1, outputPerMTokUsd: 1 } },
    })
    const agent = () => ({
      model: new ScriptedModel(searching(5)),
      tools: [search],
      modelId: 'm',
      provider: 'scripted',
    })
    const shared = { budget: daily, key: 'acme' }
    // $0.005 per call: two calls reach $0.01.
    const error = await rejectionOf(runner.run(agent(), 'x', { budget: { shared } }))
    expect(error).toMatchObject({ budget: 'maxCostUsd', limit: 0.01 })
    expect((await daily.spent('acme')).costUsd).toBeCloseTo(0.01, 8)
    expect((error as Error).message).toContain('Budget spend reached for "acme": $0.01 of $0.01 per day')
  })

  it('refuses bad shared budgets with InvalidOptionsError naming the field', async () => {
    const bad = (options: unknown) => {
      try {
        createSharedBudget(options as never)
      } catch (error) {
        expect(InvalidOptionsError.isInstance(error)).toBe(true)
        return (error as InvalidOptionsError).issues.map((issue) => `${issue.field}: ${issue.message}`)
      }
      throw new Error('not refused')
    }
    expect(bad({ name: 'x', window: 'day' })).toEqual(['maxTokens: set maxTokens or maxCostUsd'])
    expect(bad({ name: 'x', maxTokens: 1.5, window: 'day' })).toEqual([
      'maxTokens: must be a positive integer number of tokens',
    ])
    expect(bad({ name: 'x', maxTokens: 10, window: 'week' })[0]).toMatch(/^window: must be 'day', 'hour'/)
    expect(bad({ name: '', maxCostUsd: 1, window: 1500 })).toHaveLength(2)
    expect(bad({ name: 'x', maxCostUsd: 1, window: 'day', redis: {} })).toEqual([
      'redis: must be an ioredis client',
    ])

    const runner = new ScriptedRunner()
    const error = await rejectionOf(
      runner.run({ model: new ScriptedModel([{ text: 'x' }]) }, 'x', {
        budget: { shared: { budget: {} as never, key: '' } },
      }),
    )
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect((error as InvalidOptionsError).issues.map((issue) => issue.field).sort()).toEqual([
      'budget.shared.budget',
      'budget.shared.key',
    ])
  })
})

describe('shared budgets: pool tasks', () => {
  function pool(
    budget: ReturnType<typeof createSharedBudget>,
    onExceeded: 'wait' | 'fail',
    script: () => ScriptStep[] | ScriptedModel,
  ) {
    const { store, activity } = tracked()
    const runner = new ScriptedRunner({ activity })
    const models: ScriptedModel[] = []
    const taskPool = createPool({ activity, concurrency: 4 })
    const task = taskPool.task(
      'research',
      {
        input: z.object({ topic: z.string() }),
        budget: { shared: budget, key: (_, metadata) => String(metadata.tenant), onExceeded },
      },
      async ({ agentId, input, signal }) => {
        const steps = script()
        const model = steps instanceof ScriptedModel ? steps : new ScriptedModel(steps)
        if (!models.includes(model)) models.push(model)
        // No budget given to the run: it joins the task's execution and spends under its budget.
        const result = await runner.run({ model, tools: [search] }, input.topic, { agentId, signal })
        return result.text
      },
    )
    return { store, activity, pool: taskPool, task, models }
  }

  it("'fail': a job of a key over budget ends with BudgetExceededError before its handler runs; runs inside charge the key", async () => {
    const daily = createSharedBudget({ name: 'tenant-daily', maxTokens: 10_000, window: 'day' })
    const { store, pool: taskPool, task, models } = pool(daily, 'fail', () => searching(1))
    const first = await task.enqueue({ topic: 'a' }, { metadata: { tenant: 'acme' } })
    await expect(task.result(first.agentId)).resolves.toBe('Here is what I found.')
    expect((await daily.spent('acme')).tokens).toBe(10_000)

    const second = await task.enqueue({ topic: 'b' }, { metadata: { tenant: 'acme' } })
    const error = await rejectionOf(task.result(second.agentId))
    expect(BudgetExceededError.isInstance(error)).toBe(true)
    expect(models).toHaveLength(1)
    const record = await store.get(second.agentId)
    expect(record?.status).toBe('error')
    expect(record?.message).toContain(
      'Budget tenant-daily reached for "acme": 10,000 of 10,000 tokens per day',
    )

    const globex = await task.enqueue({ topic: 'c' }, { metadata: { tenant: 'globex' } })
    await expect(task.result(globex.agentId)).resolves.toBe('Here is what I found.')
    await taskPool.close()
  })

  it("'wait': the job waits, running, until the window ends, saying so, then runs; cancel ends the wait at once", async () => {
    const windowMs = 3000
    // Start just after a window began, so that the wait below is most of a window.
    await new Promise((resolve) => setTimeout(resolve, windowMs - (Date.now() % windowMs) + 50))
    const budget = createSharedBudget({ name: 'burst', maxTokens: 5000, window: windowMs })
    await budget.charge('acme', { tokens: 5000, costUsd: 0 })
    const { store, pool: taskPool, task } = pool(budget, 'wait', () => searching(0))
    const waiting = await task.enqueue({ topic: 'later' }, { metadata: { tenant: 'acme' } })
    const canceled = await task.enqueue({ topic: 'never' }, { metadata: { tenant: 'acme' } })
    await until(
      async () =>
        (await messagesOf(store, canceled.agentId)).some((message) =>
          message.startsWith('Waiting for budget'),
        ),
      'the waiting line',
    )
    const canceledAt = Date.now()
    await expect(taskPool.cancel(canceled.agentId)).resolves.toBe(true)
    // At once, not at the window's end (about 3 s away).
    expect(Date.now() - canceledAt).toBeLessThan(2000)
    expect((await store.get(canceled.agentId))?.status).toBe('canceled')

    await expect(task.result(waiting.agentId)).resolves.toBe('Here is what I found.')
    const messages = await messagesOf(store, waiting.agentId)
    expect(messages.find((message) => message.startsWith('Waiting for budget'))).toMatch(
      /^Waiting for budget: Budget burst reached for "acme": 5,000 of 5,000 tokens per 3 s \(until /,
    )
    expect(messages).toContain('Budget burst has room again; going on')
    await taskPool.close()
  }, 30_000)

  it("'wait': a durable run inside that stops on the budget continues from its checkpoint once the window ends", async () => {
    const windowMs = 3000
    await new Promise((resolve) => setTimeout(resolve, windowMs - (Date.now() % windowMs) + 50))
    const budget = createSharedBudget({ name: 'burst', maxTokens: 9000, window: windowMs })
    searched.length = 0
    // One model for both attempts: two searches of 5,000 tokens, the second over the budget.
    const model = new ScriptedModel(searching(2))
    const { store, pool: taskPool, task, models } = pool(budget, 'wait', () => model)
    const { agentId } = await task.enqueue({ topic: 'otters' }, { metadata: { tenant: 'acme' } })
    await expect(task.result(agentId)).resolves.toBe('Here is what I found.')
    expect(models).toEqual([model])
    expect(model.calls).toHaveLength(3)
    // The searches ran once each: the second attempt continued the conversation.
    expect(searched).toEqual(['q0', 'q1'])
    const messages = await messagesOf(store, agentId)
    expect(messages.some((message) => message.startsWith('Waiting for budget: Budget burst reached'))).toBe(
      true,
    )
    await taskPool.close()
  }, 30_000)

  it('refuses a bad budget option naming the field', () => {
    const poolOf = createPool({ concurrency: 1 })
    const refused = (budget: unknown) => {
      try {
        poolOf.task('t', { input: z.object({}), budget: budget as never }, async () => null)
      } catch (error) {
        return (error as InvalidOptionsError).issues.map((issue) => issue.field)
      }
      return []
    }
    expect(refused({ shared: {}, key: 'acme' })).toEqual(['budget.shared', 'budget.key'])
    expect(
      refused({
        shared: createSharedBudget({ name: 'x', maxTokens: 1, window: 'day' }),
        key: () => 'a',
        onExceeded: 'later',
      }),
    ).toEqual(['budget.onExceeded'])
    void poolOf.close()
  })
})

describe('waiting is visible in the stream', () => {
  it('a run waiting for a rate limit slot sends a status-update with wait, then a line when it gets the slot', async () => {
    const limiter = createRateLimiter({ limits: { openai: { requestsPerMinute: 1 } }, windowMs: 1000 })
    const runner = new ScriptedRunner({ rateLimiter: limiter })
    // Three calls, one slot per second: at least one call waits, however the windows fall.
    const agent = {
      model: new ScriptedModel(searching(2, 1000)),
      tools: [search],
      modelId: 'gpt-4o-mini',
      provider: 'openai',
    }
    const stream = runner.runStreamed(agent, 'x')
    const updates: RunEvent[] = []
    for await (const event of stream) if (event.type === 'status-update') updates.push(event)
    await completed(stream.result)
    const waiting = updates.find((event) => event.type === 'status-update' && event.wait)
    expect(waiting).toMatchObject({
      message: 'Waiting for rate limit (openai: 1 requests per 1 s)',
      wait: { reason: 'rate-limit', key: 'openai', limit: '1 requests per 1 s' },
    })
    const next = updates[updates.indexOf(waiting as RunEvent) + 1]
    expect(next).toMatchObject({ type: 'status-update' })
    expect(next).not.toHaveProperty('wait')
    expect((next as { message: string }).message).toMatch(
      /^Rate limit slot taken after \d+\.\d s \(openai: 1 requests per 1 s\)$/,
    )
  })
})

describe('shared budgets: Redis, across processes', () => {
  const clients: Redis[] = []
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.quit()))
  })
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  const fixture = fileURLToPath(new URL('./test-helpers/budget-process.ts', import.meta.url))

  it('two processes spending one key under concurrency overspend by at most one in-flight call each', async () => {
    const keyPrefix = `test:budget:${randomUUID()}`
    const maxTokens = 200_500
    const start = () => {
      const child = spawn(process.execPath, [fixture, url, keyPrefix, String(maxTokens)], {
        stdio: ['pipe', 'pipe', 'pipe'],
      })
      let out = ''
      let err = ''
      const ready = new Promise<void>((resolve) => {
        child.stdout.on('data', (chunk) => {
          out += chunk
          if (out.startsWith('ready\n')) resolve()
        })
      })
      child.stderr.on('data', (chunk) => {
        err += chunk
      })
      const done = new Promise<{ calls: number; stoppedBy?: string }>((resolve, reject) => {
        child.on('exit', (code) => {
          if (code === 0) resolve(JSON.parse(out.slice('ready\n'.length).trim()))
          else reject(new Error(`budget process exited ${code}: ${err}`))
        })
      })
      return { child, ready, done }
    }
    const processes = [start(), start()]
    // Both loaded and connected, then started together: their calls overlap.
    await Promise.all(processes.map((each) => each.ready))
    for (const each of processes) each.child.stdin.end('go\n')
    const results = await Promise.all(processes.map((each) => each.done))
    for (const result of results) expect(result.stoppedBy).toBe('tenant-daily')
    const calls = results.reduce((sum, result) => sum + result.calls, 0)
    // Each call is 1,000 tokens; each process has one call in flight at a time.
    expect(calls * 1000).toBeGreaterThanOrEqual(maxTokens)
    expect(calls * 1000).toBeLessThanOrEqual(maxTokens + 2 * 1000)
    // The processes interleaved: both spent part of it.
    for (const result of results) expect(result.calls).toBeGreaterThan(0)

    const redis = new Redis(url)
    clients.push(redis)
    const budget = createSharedBudget({ name: 'tenant-daily', maxTokens, window: 'day', redis, keyPrefix })
    expect((await budget.spent('acme')).tokens).toBe(calls * 1000)
    expect(await budget.reached('acme')).toMatchObject({ budget: 'maxTokens', limit: maxTokens })
  }, 60_000)
})
