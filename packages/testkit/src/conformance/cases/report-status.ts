import type { RunEvent, RunHooks } from '@runner/core'
import { expect } from 'vitest'
import { scenario } from '../../scenario/scenario.js'
import { logOf, prompt, settles, start, textOf } from './case-helpers.js'
import type { ConformanceCase } from './conformance-case.js'

export const reportStatusUpdates: ConformanceCase = {
  id: 'report-status.updates',
  group: 'report_status',
  title: 'report_status updates the activity and emits a status-update',
  async run({ harness: make, settleMs }) {
    const { harness, activity } = await make()
    const script = scenario()
      .toolCall('report_status', { message: 'Reading sources', percentage: 45 })
      .text('done')
    const { agent } = await start(harness, script, [])
    const events: RunEvent[] = []
    const hooks: RunHooks = {
      onStatusUpdate: (event) => void events.push({ type: 'status-update', ...event }),
    }
    await settles(
      harness.runner.run(agent, harness.input(prompt), { agentId: 'conf-report', hooks }),
      settleMs,
      'a run that calls report_status must resolve',
    )
    const detail = await activity.detail('conf-report')
    expect(
      detail.log.some((entry) => entry.message === 'Reading sources' && entry.percentage === 45),
      `a report_status call ({ message: 'Reading sources', percentage: 45 }) is logged on the activity with its message and percentage (log: ${logOf(detail)})`,
    ).toBe(true)
    expect(
      events.some((event) => event.type === 'status-update' && event.message === 'Reading sources'),
      'a report_status call fires onStatusUpdate with the reported message',
    ).toBe(true)
  },
}

export const reportStatusBadArguments: ConformanceCase = {
  id: 'report-status.bad-arguments',
  group: 'report_status',
  title: 'bad report_status arguments give the model an error result and the run goes on',
  async run({ harness: make, settleMs }) {
    const { harness, activity } = await make()
    const script = scenario()
      .toolCall('report_status', { message: '', percentage: 250 })
      .toolCall('report_status', { percentage: 'half' })
      .text('finished anyway')
    const { agent, player } = await start(harness, script, [])
    const ended: Array<{ isError: boolean; toolName: string }> = []
    const result = await settles(
      harness.runner.run(agent, harness.input(prompt), {
        agentId: 'conf-bad-report',
        hooks: { onToolCallEnd: (event) => void ended.push(event) },
      }),
      settleMs,
      'bad report_status arguments must not crash the run: it must resolve',
    )
    expect(
      textOf(result).trim(),
      'after bad report_status arguments the run goes on to the model’s final answer',
    ).toBe('finished anyway')
    player.assertDone()
    expect(
      ended.filter((event) => event.toolName === 'report_status').map((event) => event.isError),
      'each report_status call with bad arguments ends (onToolCallEnd) with an error result the model can read: isError true for both calls, in order',
    ).toEqual([true, true])
    const detail = await activity.detail('conf-bad-report')
    expect(detail.status, 'a run that survived bad report_status arguments ends its activity complete').toBe(
      'complete',
    )
    expect(
      detail.log.every(
        (entry) => entry.percentage === null || (entry.percentage >= 0 && entry.percentage <= 100),
      ),
      `a bad report_status percentage (250) is never written: every logged percentage is null or 0..100 (log: ${logOf(detail)})`,
    ).toBe(true)
    expect(
      detail.log.some((entry) => entry.message === ''),
      `a bad report_status message ('') is never written to the activity log (log: ${logOf(detail)})`,
    ).toBe(false)
  },
}
