import type { RunHooks } from '@runner/core'
import { expect } from 'vitest'
import { scenario } from '../../scenario/scenario.js'
import { searchTool } from '../suite-tools.js'
import { prompt, settles, start, textOf } from './case-helpers.js'
import type { ConformanceCase } from './conformance-case.js'

export const hooksOrder: ConformanceCase = {
  id: 'hooks.order',
  group: 'hooks',
  title: 'runner hooks fire before run hooks, in lifecycle order',
  async run({ harness: make, settleMs }) {
    const calls: string[] = []
    const record = (prefix: string): RunHooks => ({
      onRunStart: () => void calls.push(`${prefix}:runStart`),
      onModelCallStart: () => void calls.push(`${prefix}:modelStart`),
      onModelCallEnd: () => void calls.push(`${prefix}:modelEnd`),
      onToolCallEnd: ({ toolName }) => void calls.push(`${prefix}:toolEnd:${toolName}`),
      onStatusUpdate: ({ status }) => void calls.push(`${prefix}:status:${status}`),
      onRunEnd: () => void calls.push(`${prefix}:runEnd`),
    })
    const { harness } = await make({ hooks: record('runner') })
    const { agent } = await start(harness, scenario().toolCall('search', { query: 'q' }).text('done'), [
      searchTool().tool,
    ])
    await settles(
      harness.runner.run(agent, harness.input(prompt), { hooks: record('run') }),
      settleMs,
      'a run with runner-level and per-run hooks must resolve',
    )
    expect(
      calls,
      'every hook fires at both levels, the runner-level hook before the per-run hook, in lifecycle order: status queued, status running, onRunStart, then per model call onModelCallStart and onModelCallEnd (with onToolCallEnd after the call that asked for the tool), then onRunEnd, then status complete',
    ).toEqual([
      'runner:status:queued',
      'run:status:queued',
      'runner:status:running',
      'run:status:running',
      'runner:runStart',
      'run:runStart',
      'runner:modelStart',
      'run:modelStart',
      'runner:modelEnd',
      'run:modelEnd',
      'runner:toolEnd:search',
      'run:toolEnd:search',
      'runner:modelStart',
      'run:modelStart',
      'runner:modelEnd',
      'run:modelEnd',
      'runner:runEnd',
      'run:runEnd',
      'runner:status:complete',
      'run:status:complete',
    ])
  },
}

export const hooksDeny: ConformanceCase = {
  id: 'hooks.deny',
  group: 'hooks',
  title: 'onToolCallStart can deny a call: the tool never runs and the model reads an error result',
  when: 'toolHooks',
  async run({ harness: make, settleMs }) {
    const { harness } = await make({
      hooks: {
        onToolCallStart: ({ toolName }) => (toolName === 'search' ? { deny: 'not allowed' } : undefined),
      },
    })
    const search = searchTool()
    const { agent, player } = await start(
      harness,
      scenario().toolCall('search', { query: 'secret' }).text('ok'),
      [search.tool],
    )
    const ended: Array<{ isError: boolean; output: unknown }> = []
    const result = await settles(
      harness.runner.run(agent, harness.input(prompt), {
        hooks: { onToolCallEnd: (event) => void ended.push(event) },
      }),
      settleMs,
      'a run whose tool call is denied must resolve',
    )
    expect(textOf(result).trim(), 'a denied tool call does not end the run: the model answers after it').toBe(
      'ok',
    )
    expect(
      search.queries,
      'a tool call denied by onToolCallStart never runs the tool: no query recorded',
    ).toEqual([])
    expect(ended, 'a denied tool call still ends once (onToolCallEnd fires for it)').toHaveLength(1)
    expect(ended[0]?.isError, 'a denied tool call ends with an error result (isError: true)').toBe(true)
    expect(
      String(ended[0]?.output),
      'the error result of a denied tool call carries the deny reason for the model to read',
    ).toContain('not allowed')
    player.assertDone()
  },
}

export const hooksRewrite: ConformanceCase = {
  id: 'hooks.rewrite',
  group: 'hooks',
  title: 'onToolCallStart can rewrite a call’s input',
  when: 'toolHooks',
  async run({ harness: make, settleMs }) {
    const { harness } = await make()
    const search = searchTool()
    const { agent } = await start(harness, scenario().toolCall('search', { query: 'original' }).text('ok'), [
      search.tool,
    ])
    await settles(
      harness.runner.run(agent, harness.input(prompt), {
        hooks: { onToolCallStart: () => ({ input: { query: 'rewritten' } }) },
      }),
      settleMs,
      'a run whose tool input is rewritten must resolve',
    )
    expect(
      search.queries,
      'the tool runs once with the input returned by onToolCallStart ({ input }), not the model’s',
    ).toEqual(['rewritten'])
  },
}
