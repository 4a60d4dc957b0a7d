import { expect } from 'vitest'
import { scenario } from '../../scenario/scenario.js'
import { recordStepTool } from '../suite-tools.js'
import { answer, logOf, prompt, settles, start, textOf, until } from './case-helpers.js'
import type { ConformanceCase } from './conformance-case.js'
import { countOf, eventually, requestText, requireDurable, requireReopen } from './durable-helpers.js'

export const durableCrashResume: ConformanceCase = {
  id: 'durable.crash-resume',
  group: 'durable runs',
  title:
    'a run abandoned in the middle of a tool resumes on a fresh runner instance: no journaled tool runs again, turns and usage go on',
  when: 'durable',
  async run(context) {
    const { settleMs } = context
    const first = await context.harness()
    requireDurable(context, first.harness)
    requireReopen(context, first)
    const agentId = 'conf-durable-crash'
    const steps = recordStepTool()
    // The second answer calls two steps at once; `third` never completes on the first instance.
    steps.state.hangOn = 'third'
    const crashing = await start(
      first.harness,
      scenario()
        .toolCall('record_step', { step: 'first' })
        .usage({ inputTokens: 3, outputTokens: 1 })
        .toolCalls([
          { name: 'record_step', input: { step: 'second' } },
          { name: 'record_step', input: { step: 'third' } },
        ])
        .usage({ inputTokens: 7, outputTokens: 2 }),
      [steps.tool],
    )
    // The process "stops" while `third` runs: nobody awaits this run again.
    const abandoned = first.harness.runner.run(crashing.agent, first.harness.input(prompt), { agentId })
    abandoned.catch(() => {})
    await until(
      () => steps.state.completed.includes('second') && steps.state.started.includes('third'),
      settleMs,
      'the first instance must complete the steps first and second and start third',
    )
    await eventually(
      async () =>
        (await first.activity.store.getRun(agentId))?.journal.some(
          (entry) => (entry.input as { step?: unknown } | null)?.step === 'second',
        ) === true,
      settleMs,
      'a durable run journals each tool call as it completes: store.getRun(agentId).journal must hold the call of step second',
    )
    expect(
      (await first.activity.detail(agentId)).status,
      'a run whose process stopped in the middle of a tool is still running in the store',
    ).toBe('running')

    steps.state.hangOn = undefined
    const second = await context.reopen(first)
    const resumed = await start(
      second.harness,
      scenario().text(answer).usage({ inputTokens: 11, outputTokens: 4 }),
      [steps.tool],
    )
    const result = await settles(
      second.harness.runner.resume(resumed.agent, agentId),
      settleMs,
      'resume on a fresh runner instance over the same store must resolve',
    )
    expect(textOf(result).trim(), 'a resumed run ends with the answer of the scenario').toBe(answer)
    expect(
      countOf(steps.state.started),
      'no tool call that completed before the crash runs again on resume: first and second start once; third, in flight when the process stopped, starts again',
    ).toEqual({ first: 1, second: 1, third: 2 })
    expect(
      [...steps.state.completed].sort(),
      'each step completes exactly once across both instances',
    ).toEqual(['first', 'second', 'third'])
    expect(
      resumed.player.calls,
      'a resumed run continues from the checkpoint of the answer whose tools were running: one more model call (the final answer), none made again',
    ).toHaveLength(1)
    const told = requestText(resumed.player.calls[0]?.request)
    expect(
      told,
      'the resumed conversation gives the model the journaled result of the call that completed before the crash',
    ).toContain('step second recorded')
    expect(
      told,
      'the resumed conversation gives the model the result of the call that was in flight, run again',
    ).toContain('step third recorded')
    expect(result.turns, 'turns go on from the checkpoint: 2 before the crash, 1 after (3)').toBe(3)
    expect(
      result.usage,
      'result.usage of a resumed run sums every model call, before and after the crash',
    ).toMatchObject({ inputTokens: 21, outputTokens: 7, totalTokens: 28 })
    const detail = await second.activity.detail(agentId)
    expect(detail.status, 'a resumed run that succeeds ends its activity complete').toBe('complete')
    expect(
      detail.log.some((entry) => entry.kind === 'resume'),
      `the activity log shows the resume: an entry of kind 'resume' (log: ${logOf(detail)})`,
    ).toBe(true)
  },
}
