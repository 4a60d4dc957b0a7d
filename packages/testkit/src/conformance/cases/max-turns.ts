import { MaxTurnsExceededError } from '@runner/core'
import { expect } from 'vitest'
import { scenario } from '../../scenario/scenario.js'
import { searchTool } from '../suite-tools.js'
import { errorOf, logOf, prompt, settles, start, textOf } from './case-helpers.js'
import type { ConformanceCase } from './conformance-case.js'

export const maxTurnsError: ConformanceCase = {
  id: 'max-turns.error',
  group: 'max turns',
  title:
    'without recovery, reaching maxTurns throws MaxTurnsExceededError after exactly maxTurns model calls',
  async run({ harness: make, settleMs }) {
    const { harness, activity } = await make()
    const script = scenario()
      .toolCall('search', { query: 'a' })
      .toolCall('search', { query: 'b' })
      .toolCall('search', { query: 'c' })
    const { agent, player } = await start(harness, script, [searchTool().tool])
    const error = await errorOf(
      harness.runner.run(agent, harness.input(prompt), { agentId: 'conf-max-turns', maxTurns: 2 }),
      settleMs,
      'a run that reaches maxTurns without recovery must reject with MaxTurnsExceededError',
    )
    expect(
      MaxTurnsExceededError.isInstance(error),
      `a run that reaches maxTurns without recovery rejects with MaxTurnsExceededError (got ${String(error)})`,
    ).toBe(true)
    expect(
      player.calls,
      'a run makes exactly maxTurns model calls (2 here) before it stops at the turn limit',
    ).toHaveLength(2)
    expect(
      (await activity.detail('conf-max-turns')).status,
      'a run that reaches maxTurns without recovery ends its activity in error',
    ).toBe('error')
  },
}

export const maxTurnsRecovery: ConformanceCase = {
  id: 'max-turns.recovery',
  group: 'max turns',
  title: 'with maxTurnsRecovery, the model is asked to wrap up and its answer is returned',
  when: 'maxTurnsRecovery',
  async run({ harness: make, settleMs }) {
    const { harness, activity } = await make()
    const script = scenario()
      .toolCall('search', { query: 'a' })
      .toolCall('search', { query: 'b' })
      .text('Summary so far.')
    const { agent, player } = await start(harness, script, [searchTool().tool])
    const result = await settles(
      harness.runner.run(agent, harness.input(prompt), {
        agentId: 'conf-recovery',
        maxTurns: 2,
        maxTurnsRecovery: true,
      }),
      settleMs,
      'a run with maxTurnsRecovery that reaches maxTurns must resolve',
    )
    expect(textOf(result).trim(), 'with maxTurnsRecovery, result.text is the model’s wrap-up answer').toBe(
      'Summary so far.',
    )
    expect(result.maxTurnsReached, 'a recovered run reports maxTurnsReached: true').toBe(true)
    player.assertDone()
    const wrapUpRequest = player.calls[2]?.request
    expect(wrapUpRequest, 'the driver must pass each request to player.next(request)').toBeDefined()
    expect(JSON.stringify(wrapUpRequest), 'the wrap-up request carries prompts.wrapUp').toContain(
      JSON.stringify(harness.runner.prompts.wrapUp).slice(1, 40),
    )
    if (harness.toolNamesOf)
      expect(harness.toolNamesOf(wrapUpRequest), 'the wrap-up turn offers no tools').toEqual([])
    const detail = await activity.detail('conf-recovery')
    expect(detail.status, 'a run recovered with a wrap-up answer ends its activity complete').toBe('complete')
    expect(
      detail.log.length,
      `the wrap-up is logged on the activity, beside queued, running and complete (log: ${logOf(detail)})`,
    ).toBeGreaterThan(3)
  },
}
