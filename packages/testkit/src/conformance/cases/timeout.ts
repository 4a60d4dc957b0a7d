import { RunTimeoutError } from '@runner/core'
import { expect } from 'vitest'
import { scenario } from '../../scenario/scenario.js'
import { errorOf, expectCallAborted, prompt, start } from './case-helpers.js'
import type { ConformanceCase } from './conformance-case.js'

export const cancelTimeout: ConformanceCase = {
  id: 'cancel.timeout',
  group: 'cancellation',
  title: 'timeoutMs stops a hanging model call: RunTimeoutError, activity error',
  async run({ harness: make, settleMs }) {
    const { harness, activity } = await make()
    const { agent, player } = await start(harness, scenario().hang(), [])
    const error = await errorOf(
      harness.runner.run(agent, harness.input(prompt), { agentId: 'conf-timeout', timeoutMs: 150 }),
      settleMs,
      'timeoutMs must end a run whose model call hangs',
    )
    expect(
      RunTimeoutError.isInstance(error),
      `a run that outlives timeoutMs rejects with RunTimeoutError (got ${String(error)})`,
    ).toBe(true)
    await expectCallAborted(player, 0, settleMs)
    const detail = await activity.detail('conf-timeout')
    expect(detail.status, 'a run that outlives timeoutMs ends its activity in error').toBe('error')
    expect(detail.message, 'a timed-out run’s activity message is messages.timedOut').toBe(
      typeof activity.messages.timedOut === 'function'
        ? activity.messages.timedOut(150)
        : activity.messages.timedOut,
    )
  },
}
