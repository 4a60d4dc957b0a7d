import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryActivityStore } from '../activity/memory-store.js'
import { createActivityTracker } from '../activity/tracker.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { RunTimeoutError } from '../errors/run-timeout-error.js'
import { RunnerError } from '../errors/runner-error.js'
import { createPool } from '../pool/create-pool.js'
import type { Pool } from '../pool/types.js'
import { completed } from '../test/completed.js'
import { rejectionOf } from '../test/rejection-of.js'
import { ScriptedModel, ScriptedRunner, type ScriptStep } from '../test/scripted-runner.js'
import { defineTool } from '../tools/define-tool.js'
import { childRuns } from './child-runs.js'

const pools: Pool[] = []
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close({ timeoutMs: 0 })))
})

function tracked() {
  const store = new MemoryActivityStore()
  return { store, activity: createActivityTracker({ store }) }
}

const answer = (text: string, delayMs = 0): ScriptStep[] => [{ text, delayMs }]

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now()
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('child runs of a run', () => {
  it('a tool starts child runs on other runners; their activities name the parent, all() waits, the parent rolls up', async () => {
    const { store, activity } = tracked()
    const parentRunner = new ScriptedRunner({ activity })
    const researcher = new ScriptedRunner({ activity })
    const writer = new ScriptedRunner({ activity })
    const childIds: string[] = []
    const delegate = defineTool({
      name: 'delegate',
      description: 'Researches two topics with two agents',
      inputSchema: z.object({}),
      execute: async () => {
        const children = childRuns()
        children.run(researcher, { model: new ScriptedModel(answer('otters', 20)) }, 'Otters')
        children.run(writer, { model: new ScriptedModel(answer('beavers', 5)) }, 'Beavers')
        childIds.push(...children.agentIds)
        const results = (await children.all()) as Array<{ text: string }>
        return results.map((result) => result.text).join(' and ')
      },
    })
    const model = new ScriptedModel([{ toolCalls: [{ name: 'delegate', input: {} }] }, { text: 'Done' }])
    const result = await completed(
      parentRunner.run({ model, tools: [delegate] }, 'Go', { agentId: 'parent' }),
    )
    expect(result.text).toBe('Done')
    expect(model.calls[1]?.messages).toContain('delegate: otters and beavers')

    expect(childIds).toHaveLength(2)
    for (const id of childIds) {
      const child = await store.get(id)
      expect(child?.status).toBe('complete')
      expect(child?.metadata).toEqual({ parentId: 'parent' })
    }
    const children = await store.list({ metadata: { parentId: 'parent' } })
    expect(children.items.map((item) => item.agentId).sort()).toEqual([...childIds].sort())
    const messages = (await store.get('parent'))?.log.map((entry) => `${entry.message} ${entry.percentage}`)
    expect(messages).toContain('Children: 1 of 2 done 50')
    expect(messages).toContain('Children: 2 of 2 done 100')
  })

  it('cancel and timeout of the parent end its children', async () => {
    const { store, activity } = tracked()
    const runner = new ScriptedRunner({ activity, retry: { attempts: 1 } })
    const started: string[] = []
    const fanOut = defineTool({
      name: 'fan_out',
      description: 'Starts children that take long',
      inputSchema: z.object({}),
      execute: async () => {
        const children = childRuns()
        for (const topic of ['a', 'b'])
          children.run(runner, { model: new ScriptedModel([{ hang: true }]) }, topic)
        started.push(...children.agentIds)
        return JSON.stringify(await children.all())
      },
    })
    const agent = () => ({
      model: new ScriptedModel([{ toolCalls: [{ name: 'fan_out', input: {} }] }, { text: 'never' }]),
      tools: [fanOut],
    })

    const controller = new AbortController()
    const canceled = runner.run(agent(), 'go', { agentId: 'canceled-parent', signal: controller.signal })
    await until(async () => started.length === 2, 'the children')
    await until(
      async () =>
        (await Promise.all(started.map((id) => store.get(id)))).every((a) => a?.status === 'running'),
      'the children running',
    )
    controller.abort()
    expect(RunCanceledError.isInstance(await rejectionOf(canceled))).toBe(true)
    await until(
      async () =>
        (await Promise.all(started.map((id) => store.get(id)))).every((a) => a?.status === 'canceled'),
      'the children canceled',
    )

    started.length = 0
    const timedOut = runner.run(agent(), 'go', { agentId: 'slow-parent', timeoutMs: 300 })
    expect(RunTimeoutError.isInstance(await rejectionOf(timedOut))).toBe(true)
    expect(started).toHaveLength(2)
    await until(
      async () =>
        (await Promise.all(started.map((id) => store.get(id)))).every(
          (a) => a?.status === 'canceled' || a?.status === 'error',
        ),
      'the children ended',
    )
  })

  it('first() returns the first child to complete and cancels the others', async () => {
    const { store, activity } = tracked()
    const runner = new ScriptedRunner({ activity })
    const race = defineTool({
      name: 'race',
      description: 'Asks two agents, keeps the first answer',
      inputSchema: z.object({}),
      execute: async () => {
        const children = childRuns()
        children.run(runner, { model: new ScriptedModel([{ hang: true }]) }, 'slow', { agentId: 'slow' })
        children.run(runner, { model: new ScriptedModel(answer('fast answer', 10)) }, 'fast', {
          agentId: 'fast',
        })
        const winner = (await children.first()) as { text: string }
        return winner.text
      },
    })
    const model = new ScriptedModel([{ toolCalls: [{ name: 'race', input: {} }] }, { text: 'ok' }])
    await completed(runner.run({ model, tools: [race] }, 'go'))
    expect(model.calls[1]?.messages).toContain('race: fast answer')
    expect((await store.get('fast'))?.status).toBe('complete')
    expect((await store.get('slow'))?.status).toBe('canceled')
  })

  it('parent: false detaches a run; an explicit parent is recorded; childRuns() outside a run needs a parent', async () => {
    const { store, activity } = tracked()
    const runner = new ScriptedRunner({ activity })
    const spawn = defineTool({
      name: 'spawn',
      description: 'Starts a detached run',
      inputSchema: z.object({}),
      execute: async () => {
        await runner.run({ model: new ScriptedModel(answer('x')) }, 'detached', {
          agentId: 'detached',
          parent: false,
        })
        return 'ok'
      },
    })
    await completed(
      runner.run(
        {
          model: new ScriptedModel([{ toolCalls: [{ name: 'spawn', input: {} }] }, { text: 'ok' }]),
          tools: [spawn],
        },
        'go',
      ),
    )
    expect((await store.get('detached'))?.metadata).toEqual({})

    expect(() => childRuns()).toThrow(RunnerError)
    const outside = childRuns({ parent: 'some-run' })
    await outside.run(runner, { model: new ScriptedModel(answer('y')) }, 'named', { agentId: 'named-child' })
    expect((await store.get('named-child'))?.metadata).toEqual({ parentId: 'some-run' })
  })
})

describe('child tasks of a pool task', () => {
  it('a task enqueues child tasks and waits for them; canceling the parent task cancels its children', async () => {
    const { store, activity } = tracked()
    const pool = createPool({ activity, concurrency: 4 })
    pools.push(pool)
    const holds: Array<() => void> = []
    pool.task(
      'child',
      { input: z.object({ n: z.number(), hold: z.boolean() }) },
      async ({ input, signal }) => {
        if (input.hold)
          await new Promise<void>((resolve, reject) => {
            holds.push(resolve)
            signal.addEventListener('abort', () => reject(signal.reason), { once: true })
          })
        return input.n * 2
      },
    )
    const parent = pool.task('parent', { input: z.object({ hold: z.boolean() }) }, async ({ input }) => {
      const children = childRuns()
      for (const n of [1, 2, 3]) await children.enqueue(pool, 'child', { n, hold: input.hold })
      return (await children.all()) as number[]
    })

    const quick = await parent.enqueue({ hold: false })
    await expect(parent.result(quick.agentId)).resolves.toEqual([2, 4, 6])
    const kids = await store.list({ metadata: { parentId: quick.agentId } })
    expect(kids.items).toHaveLength(3)
    expect(kids.items.every((item) => item.status === 'complete')).toBe(true)
    expect((await store.get(quick.agentId))?.log.map((entry) => entry.message)).toContain(
      'Children: 3 of 3 done',
    )

    const held = await parent.enqueue({ hold: true })
    await until(async () => holds.length === 3, 'the children running')
    await expect(pool.cancel(held.agentId)).resolves.toBe(true)
    const children = await store.list({ metadata: { parentId: held.agentId } })
    expect(children.items.map((item) => item.status)).toEqual(['canceled', 'canceled', 'canceled'])
  })

  it('a task enqueued inside another task records it as parent unless told otherwise', async () => {
    const { store, activity } = tracked()
    const pool = createPool({ activity, concurrency: 2 })
    pools.push(pool)
    pool.task('leaf', { input: z.number() }, async ({ input }) => input)
    const root = pool.task('root', { input: z.number() }, async ({ agentId }) => {
      const child = await pool.enqueue('leaf', 1)
      const free = await pool.enqueue('leaf', 2, { parent: false })
      const named = await pool.enqueue('leaf', 3, { parent: 'elsewhere' })
      return { agentId, child: child.agentId, free: free.agentId, named: named.agentId }
    })
    const { agentId } = await root.enqueue(0)
    const ids = (await root.result(agentId)) as { child: string; free: string; named: string }
    expect((await store.get(ids.child))?.metadata).toEqual({ parentId: agentId })
    expect((await store.get(ids.free))?.metadata).toEqual({})
    expect((await store.get(ids.named))?.metadata).toEqual({ parentId: 'elsewhere' })
  })
})
