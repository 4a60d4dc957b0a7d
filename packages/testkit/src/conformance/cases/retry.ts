import { expect } from 'vitest'
import { scenario } from '../../scenario/scenario.js'
import { answer, logOf, prompt, settles, start, textOf } from './case-helpers.js'
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
    const retries: Array<[number, number]> = []
    const result = await settles(
      harness.runner.run(agent, harness.input(prompt), {
        agentId: 'conf-retry',
        retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 5 },
        hooks: { onRetry: ({ attempt, nextAttempt }) => void retries.push([attempt, nextAttempt]) },
      }),
      settleMs,
      'a run retried after a 500 must resolve',
    )
    expect(
      textOf(result).trim(),
      'a run retried after a transient failure returns the answer of the retry',
    ).toBe(answer)
    expect(result.attempts, 'result.attempts counts the failed attempt and the retry (2)').toBe(2)
    expect(
      retries,
      'onRetry fires once per retry, with the attempt that failed and the one that follows: [[1, 2]] for one retry',
    ).toEqual([[1, 2]])
    expect(
      result.usage,
      'result.usage sums the usage of every attempt (the failed one reported none)',
    ).toMatchObject({ inputTokens: 9, outputTokens: 4, totalTokens: 13 })
    player.assertDone()
    const detail = await activity.detail('conf-retry')
    expect(detail.status, 'a run that succeeds on a retry ends its activity complete').toBe('complete')
    const retryLines = detail.log.filter((entry) => entry.kind === 'retry')
    expect(
      retryLines.map((entry) => [entry.attempt, entry.message.startsWith('Retrying (attempt 2 of 2)')]),
      `a retry is logged on the activity once, kind 'retry', with the attempt that follows, as 'Retrying (attempt 2 of 2): reason' (log: ${logOf(detail)})`,
    ).toEqual([[2, true]])
  },
}

export const noHiddenRetries: ConformanceCase = {
  id: 'retry.no-hidden-retries',
  group: 'retries',
  title: 'with one attempt, a failing model call is made once: no retry the activity does not show',
  async run({ harness: make, settleMs }) {
    const { harness, activity } = await make()
    // If the SDK retried the 500 on its own, it would get the answer of the next turn and succeed.
    const script = scenario().error(500, 'Scripted server error').text(answer)
    const { agent, player } = await start(harness, script, [])
    const error = await settles(
      harness.runner
        .run(agent, harness.input(prompt), { agentId: 'conf-no-hidden', retry: { attempts: 1 } })
        .then(
          () => undefined,
          (caught: unknown) => caught,
        ),
      settleMs,
      'a run whose only attempt fails must reject',
    )
    expect(
      error,
      'a run with retry.attempts 1 whose model call fails rejects (nothing retried it unseen)',
    ).toBeDefined()
    expect(
      player.remaining,
      'the SDK made no retry of its own: the answer scripted after the failure was never asked for',
    ).toBe(1)
    const detail = await activity.detail('conf-no-hidden')
    expect(detail.status, 'the failed run ends its activity in error').toBe('error')
    expect(
      detail.log.filter((entry) => entry.kind === 'retry'),
      'no retry line: the run made one attempt',
    ).toEqual([])
  },
}
