import { RunNotResumableError } from '@runner/core'
import { expect } from 'vitest'
import { scenario } from '../../scenario/scenario.js'
import { searchTool } from '../suite-tools.js'
import { answer, errorOf, prompt, settles, start, textOf } from './case-helpers.js'
import type { ConformanceCase } from './conformance-case.js'
import { requireDurable } from './durable-helpers.js'

export const resumeFinished: ConformanceCase = {
  id: 'durable.resume-finished',
  group: 'durable runs',
  title: 'resume of a finished run is refused (RunNotResumableError, finished) and changes nothing',
  when: 'durable',
  async run(context) {
    const { settleMs } = context
    const { harness, activity } = await context.harness()
    requireDurable(context, harness)
    const agentId = 'conf-resume-finished'
    const search = searchTool()
    const { agent } = await start(harness, scenario().toolCall('search', { query: 'otters' }).text(answer), [
      search.tool,
    ])
    const done = await settles(
      harness.runner.run(agent, harness.input(prompt), { agentId }),
      settleMs,
      'a successful run must resolve',
    )
    expect(textOf(done).trim(), 'the run to resume later completes first').toBe(answer)
    const before = { activity: await activity.detail(agentId), record: await activity.store.getRun(agentId) }
    const later = await start(harness, scenario().text('never'), [search.tool])
    const error = await errorOf(
      harness.runner.resume(later.agent, agentId),
      settleMs,
      'resume of a finished run must be refused',
    )
    expect(
      RunNotResumableError.isInstance(error) && error.reason,
      `resume of a finished run rejects with RunNotResumableError, reason 'finished' (got ${String(error)})`,
    ).toBe('finished')
    expect(later.player.calls, 'a refused resume makes no model call').toHaveLength(0)
    expect(search.queries, 'a refused resume runs no tool').toEqual(['otters'])
    expect(
      await activity.detail(agentId),
      'a refused resume leaves the finished activity as it was (status, log)',
    ).toEqual(before.activity)
    expect(
      await activity.store.getRun(agentId),
      'a refused resume leaves the run record as it was (checkpoint, journal, result)',
    ).toEqual(before.record)
  },
}

export const resumeUnknown: ConformanceCase = {
  id: 'durable.resume-unknown',
  group: 'durable runs',
  title: 'resume of an unknown agentId is refused (RunNotResumableError, not-found) and creates nothing',
  when: 'durable',
  async run(context) {
    const { settleMs } = context
    const { harness, activity } = await context.harness()
    requireDurable(context, harness)
    const agentId = 'conf-resume-unknown'
    const { agent, player } = await start(harness, scenario().text('never'), [])
    const error = await errorOf(
      harness.runner.resume(agent, agentId),
      settleMs,
      'resume of an unknown agentId must be refused',
    )
    expect(
      RunNotResumableError.isInstance(error) && error.reason,
      `resume of an unknown agentId rejects with RunNotResumableError, reason 'not-found' (got ${String(error)})`,
    ).toBe('not-found')
    expect(player.calls, 'a refused resume makes no model call').toHaveLength(0)
    expect(
      await activity.store.get(agentId),
      'a refused resume of an unknown agentId creates no activity',
    ).toBeUndefined()
  },
}
