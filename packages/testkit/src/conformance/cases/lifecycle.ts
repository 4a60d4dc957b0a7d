import { RunCanceledError } from '@runner/core'
import { expect } from 'vitest'
import { type Scenario, scenario } from '../../scenario/scenario.js'
import { searchTool } from '../suite-tools.js'
import {
  answer,
  errorOf,
  expectNoneRunning,
  logOf,
  prompt,
  researchScenario,
  researchUsage,
  settles,
  start,
  textOf,
} from './case-helpers.js'
import type { ConformanceCase } from './conformance-case.js'

export const lifecycleSuccess: ConformanceCase = {
  id: 'lifecycle.success',
  group: 'lifecycle',
  title: 'success: queued -> running -> progress -> complete at 100%, with text, turns, usage and attempts',
  async run({ harness: make, settleMs }) {
    const { harness, activity } = await make()
    const search = searchTool()
    const { agent, player } = await start(harness, researchScenario(), [search.tool])
    const result = await settles(
      harness.runner.run(agent, harness.input(prompt), { agentId: 'conf-success' }),
      settleMs,
      'a successful run must resolve',
    )
    expect(result.status, 'a successful run resolves with status complete').toBe('complete')
    expect(result.agentId, 'the result carries the agentId given in the run options').toBe('conf-success')
    expect(textOf(result).trim(), 'result.text is the final assistant text').toBe(answer)
    expect(result.turns, 'result.turns counts every model call of the run (3 here)').toBe(3)
    expect(result.attempts, 'a run that succeeds on its first attempt reports attempts: 1').toBe(1)
    expect(result.usage, 'result.usage sums the token usage of every turn').toMatchObject(researchUsage)
    expect(result.durationMs, 'result.durationMs is a duration, never negative').toBeGreaterThanOrEqual(0)
    expect(search.queries, 'the agent’s tool runs once, with the input the model gave').toEqual(['otters'])
    player.assertDone()
    const detail = await activity.detail('conf-success')
    expect(detail.status, 'a successful run ends its activity complete').toBe('complete')
    expect(detail.percentage, 'a successful run ends its activity at 100%').toBe(100)
    expect(detail.log[0]?.status, 'the first activity log entry is queued (the activity is created)').toBe(
      'queued',
    )
    expect(detail.log.at(-1), 'the last activity log entry is the move to complete at 100%').toMatchObject({
      status: 'complete',
      percentage: 100,
    })
    expect(
      detail.log.slice(1, -1).every((entry) => entry.status === 'running'),
      `between queued and complete every activity log entry is running (log: ${logOf(detail)})`,
    ).toBe(true)
    expect(
      detail.log.some((entry) => entry.message === 'Searching the web' && entry.percentage === 30),
      `report_status('Searching the web', 30) appears in the activity log with its percentage (log: ${logOf(detail)})`,
    ).toBe(true)
  },
}

export const lifecycleFailure: ConformanceCase = {
  id: 'lifecycle.failure',
  group: 'lifecycle',
  title: 'failure: the activity ends in error with the configured message and the error is rethrown',
  async run({ harness: make, settleMs }) {
    const { harness, activity } = await make({ messages: { error: () => 'Conformance failure message' } })
    const { agent } = await start(harness, scenario().error(400, 'Bad request from the model'), [])
    const error = await errorOf(
      harness.runner.run(agent, harness.input(prompt), { agentId: 'conf-failure' }),
      settleMs,
      'a run whose model call fails with a 400 must reject',
    )
    expect(error, 'a failed run rejects with the original Error').toBeInstanceOf(Error)
    expect(
      RunCanceledError.isInstance(error),
      `a failed run is not a cancel: it must not reject with RunCanceledError (got ${String(error)})`,
    ).toBe(false)
    const detail = await activity.detail('conf-failure')
    expect(detail.status, 'a failed run ends its activity in error').toBe('error')
    expect(detail.message, 'a failed run’s activity message is messages.error(error)').toBe(
      'Conformance failure message',
    )
  },
}

export const lifecycleNeverLeftRunning: ConformanceCase = {
  id: 'lifecycle.never-left-running',
  group: 'lifecycle',
  title: 'no exit path leaves an activity running (malformed answer, cut stream, unknown tool)',
  async run({ harness: make, settleMs }) {
    const { harness, activity } = await make()
    const cases: Array<[string, Scenario]> = [
      ['conf-malformed', scenario().malformed()],
      ['conf-cut', scenario().cutStream()],
      ['conf-unknown-tool', scenario().toolCall('no_such_tool', {}).text('handled')],
    ]
    for (const [agentId, script] of cases) {
      const { agent } = await start(harness, script, [])
      await settles(
        harness.runner.run(agent, harness.input(prompt), { agentId }).catch(() => undefined),
        settleMs,
        `${agentId}: every run must settle, whatever the model answers`,
      )
      expectNoneRunning(await activity.detail(agentId), agentId)
    }
    expect(
      (await activity.detail('conf-unknown-tool')).status,
      'a call to an unknown tool gives the model an error result and the run completes',
    ).toBe('complete')
  },
}
