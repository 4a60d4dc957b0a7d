import { expect } from 'vitest'
import { scenario } from '../../scenario/scenario.js'
import { answer, logOf, prompt, settles, start } from './case-helpers.js'
import type { ConformanceCase } from './conformance-case.js'

export const retryThenSuccess: ConformanceCase = {
  id: 'retry.then-success',
  group: 'retries',
  title: 'a transient failure is retried: logged on the activity, usage summed over attempts',
  async run({ harness: make, settleMs }) {
    const { harness, activity } = await make()
    const script = scenario()
      .error(500, 'Scripted server error')
      .text(answer)
      .usage({ inputTokens: 9, outputTokens: 4 })
    const { agent, player } = await start(harness, script, [])
    const retries: number[] = []
    const result = await settles(
      harness.runner.run(agent, harness.input(prompt), {
        agentId: 'conf-retry',
        retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 5 },
        hooks: { onRetry: ({ attempt }) => void retries.push(attempt) },
      }),
      settleMs,
      'a run retried after a 500 must resolve',
    )
    expect(
      result.text.trim(),
      'a run retried after a transient failure returns the answer of the retry',
    ).toBe(answer)
    expect(result.attempts, 'result.attempts counts the failed attempt and the retry (2)').toBe(2)
    expect(
      retries,
      'onRetry fires once per retry, with the number of the attempt that failed: [1] for one retry',
    ).toEqual([1])
    expect(
      result.usage,
      'result.usage sums the usage of every attempt (the failed one reported none)',
    ).toMatchObject({ inputTokens: 9, outputTokens: 4, totalTokens: 13 })
    player.assertDone()
    const detail = await activity.detail('conf-retry')
    expect(detail.status, 'a run that succeeds on a retry ends its activity complete').toBe('complete')
    expect(
      detail.log.some((entry) => entry.message.startsWith('Retry 1/1:')),
      `a retry is logged on the activity as 'Retry n/N: reason' ('Retry 1/1:' here) (log: ${logOf(detail)})`,
    ).toBe(true)
  },
}
