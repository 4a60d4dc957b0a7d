import { expect } from 'vitest'
import { scenario } from '../../scenario/scenario.js'
import { lifecycleOf, prompt, settles, start, textOf } from './case-helpers.js'
import type { ConformanceCase } from './conformance-case.js'

export const concurrencyIsolated: ConformanceCase = {
  id: 'concurrency.isolated',
  group: 'concurrency',
  title: 'two concurrent runs never mix their activities',
  async run({ harness: make, settleMs }) {
    const { harness, activity } = await make()
    const scriptFor = (name: string) =>
      scenario()
        .toolCall('report_status', { message: `Working on ${name}`, percentage: 50 })
        .slow(20)
        .text(`Answer ${name}`)
    const a = await start(harness, scriptFor('A'), [])
    const b = await start(harness, scriptFor('B'), [])
    const [resultA, resultB] = await settles(
      Promise.all([
        harness.runner.run(a.agent, harness.input(prompt), { agentId: 'conf-a' }),
        harness.runner.run(b.agent, harness.input(prompt), { agentId: 'conf-b' }),
      ]),
      settleMs,
      'two concurrent runs on one runner must both resolve',
    )
    expect(textOf(resultA).trim(), 'each of two concurrent runs returns its own answer (run A)').toBe(
      'Answer A',
    )
    expect(textOf(resultB).trim(), 'each of two concurrent runs returns its own answer (run B)').toBe(
      'Answer B',
    )
    const logA = lifecycleOf(await activity.detail('conf-a')).join('\n')
    const logB = lifecycleOf(await activity.detail('conf-b')).join('\n')
    expect(logA, 'a run’s report_status lands on its own activity (run A)').toContain('Working on A')
    expect(logA, 'a run’s report_status never lands on another run’s activity (B’s on A)').not.toContain(
      'Working on B',
    )
    expect(logB, 'a run’s report_status lands on its own activity (run B)').toContain('Working on B')
    expect(logB, 'a run’s report_status never lands on another run’s activity (A’s on B)').not.toContain(
      'Working on A',
    )
  },
}
