import type { RunResult } from '@runner/core'
import { expect } from 'vitest'
import { searchTool } from '../suite-tools.js'
import {
  answer,
  drain,
  lifecycleOf,
  prompt,
  researchScenario,
  settles,
  start,
  textOf,
  typesOf,
} from './case-helpers.js'
import type { ConformanceCase } from './conformance-case.js'

export const streamingOrder: ConformanceCase = {
  id: 'streaming.order',
  group: 'streaming',
  title:
    'events come in order: run-start first, deltas inside turns, tool-call before tool-result, run-end last',
  when: 'streaming',
  async run({ harness: make, settleMs }) {
    const { harness } = await make()
    const search = searchTool()
    const { agent } = await start(harness, researchScenario(), [search.tool])
    const stream = harness.runner.runStreamed(agent, harness.input(prompt))
    const events = await settles(drain(stream), settleMs, 'a streamed run’s events must end')
    const result = await stream.result
    const types = events.map((event) => event.type)
    const order = `(events: ${typesOf(events)})`
    expect(types[0], `run-start is the first event of a stream ${order}`).toBe('run-start')
    expect(types.at(-1), `run-end is the last event of a successful stream ${order}`).toBe('run-end')
    expect(
      types.filter((type) => type === 'run-end'),
      `a stream emits run-end exactly once ${order}`,
    ).toHaveLength(1)
    const text = events.flatMap((event) => (event.type === 'text-delta' ? [event.text] : [])).join('')
    expect(text.trim(), 'the text-deltas of a stream join into the final assistant text').toBe(answer)
    expect(textOf(result).trim(), 'stream.result.text is the final assistant text').toBe(answer)
    expect(types.lastIndexOf('text-delta'), `every text-delta comes before run-end ${order}`).toBeLessThan(
      types.indexOf('run-end'),
    )
    const calls = events.filter((event) => event.type === 'tool-call')
    const results = events.filter((event) => event.type === 'tool-result')
    expect(
      calls.map((event) => event.toolName),
      'a tool-call event is emitted for every tool the model calls, in call order: report_status, then search',
    ).toEqual(['report_status', 'search'])
    for (const call of calls) {
      const resultIndex = events.findIndex(
        (event) => event.type === 'tool-result' && event.toolCallId === call.toolCallId,
      )
      expect(
        resultIndex,
        `the tool-result of ${call.toolName} (same toolCallId) comes after its tool-call ${order}`,
      ).toBeGreaterThan(events.indexOf(call))
    }
    expect(results, 'a tool-result event is emitted for every tool call (2 here)').toHaveLength(2)
    expect(
      events.some((event) => event.type === 'status-update' && event.message === 'Searching the web'),
      `a report_status call emits a status-update event with its message ${order}`,
    ).toBe(true)
    const statuses = events.flatMap((event) => (event.type === 'status-update' ? [event.status] : []))
    expect(
      statuses.at(-1),
      `the last status-update of a successful stream moves the activity to complete (statuses: ${statuses.join(', ')})`,
    ).toBe('complete')
    const turnStarts = types.filter((type) => type === 'turn-start').length
    expect(turnStarts, `a stream emits one turn-start per model call (3 here) ${order}`).toBe(3)
  },
}

export const streamingRunEqualsDrainedStream: ConformanceCase = {
  id: 'streaming.run-equals-drained-stream',
  group: 'streaming',
  title: 'run() and a drained runStreamed() give the same result and the same activity log',
  when: 'streaming',
  async run({ harness: make, settleMs }) {
    const { harness, activity } = await make()
    const first = await start(harness, researchScenario(), [searchTool().tool])
    const fromRun = await settles(
      harness.runner.run(first.agent, harness.input(prompt), { agentId: 'conf-run' }),
      settleMs,
      'run() must resolve',
    )
    const second = await start(harness, researchScenario(), [searchTool().tool])
    const stream = harness.runner.runStreamed(second.agent, harness.input(prompt), {
      agentId: 'conf-stream',
    })
    await settles(drain(stream), settleMs, 'a drained runStreamed() must end')
    const fromStream = await stream.result
    const comparable = (result: RunResult) => [
      textOf(result).trim(),
      result.turns,
      result.attempts,
      result.usage,
      result.status,
    ]
    expect(
      comparable(fromStream),
      'run() is runStreamed() drained: same [text, turns, attempts, usage, status] for the same scenario',
    ).toEqual(comparable(fromRun))
    expect(
      lifecycleOf(await activity.detail('conf-stream')),
      'run() is runStreamed() drained: the activity log has the same entries (status: message), in the same order',
    ).toEqual(lifecycleOf(await activity.detail('conf-run')))
  },
}
