import { createActivityTracker, createPool, MemoryActivityStore } from '@runner/core'
import { childRuns } from '@runner/core/adapter'
import { ScriptedModel, ScriptedRunner } from '@runner/core/test'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { activityTree, formatActivityTree } from './activity-tree.js'

describe('activityTree', () => {
  it('builds the tree of a task, its child tasks and the runs inside them', async () => {
    const store = new MemoryActivityStore()
    const activity = createActivityTracker({ store })
    const runner = new ScriptedRunner({ activity })
    const pool = createPool({ activity, concurrency: 4 })
    pool.task('leaf', { input: z.string() }, async ({ input }) => {
      // A run inside a task, under another id: a child of the task.
      const result = await runner.run({ model: new ScriptedModel([{ text: `about ${input}` }]) }, input, {
        agentType: 'writer',
      })
      return result.text
    })
    const root = pool.task('root', { input: z.array(z.string()) }, async ({ input }) => {
      const children = childRuns()
      for (const topic of input) await children.enqueue(pool, 'leaf', topic)
      return children.all()
    })
    const { agentId } = await root.enqueue(['otters', 'beavers'])
    await expect(root.result(agentId)).resolves.toEqual(['about otters', 'about beavers'])
    const tree = await activityTree(store, agentId)
    expect(tree).toMatchObject({
      agentId,
      agentType: 'root',
      status: 'complete',
      children: [
        {
          agentType: 'leaf',
          status: 'complete',
          children: [{ agentType: 'writer', status: 'complete', children: [] }],
        },
        {
          agentType: 'leaf',
          status: 'complete',
          children: [{ agentType: 'writer', status: 'complete', children: [] }],
        },
      ],
    })
    expect(formatActivityTree(tree!)).toBe(
      [
        'complete root: Complete',
        '  complete leaf: Complete',
        '    complete writer: Complete',
        '  complete leaf: Complete',
        '    complete writer: Complete',
      ].join('\n'),
    )
    expect(await activityTree(store, 'nope')).toBeUndefined()
    await pool.close()
  })
})
