import { CapabilityUnsupportedError, type RunOptions } from '@runner/core'
import { expect } from 'vitest'
import { scenario } from '../../scenario/scenario.js'
import { errorOf, prompt, settles, start } from './case-helpers.js'
import type { ConformanceCase } from './conformance-case.js'

export const capabilityStreaming: ConformanceCase = {
  id: 'capability.streaming',
  group: 'capabilities',
  title: 'declared without streaming: runStreamed throws CapabilityUnsupportedError',
  when: 'missing:streaming',
  async run({ harness: make }) {
    const { harness } = await make()
    const { agent } = await start(harness, scenario().text('x'), [])
    let error: unknown
    try {
      const stream = harness.runner.runStreamed(agent, harness.input(prompt))
      await stream.result
    } catch (caught) {
      error = caught
    }
    expect(
      CapabilityUnsupportedError.isInstance(error),
      `a runner declared without streaming throws CapabilityUnsupportedError from runStreamed (got ${String(error)})`,
    ).toBe(true)
  },
}

export const capabilityMaxTurnsRecovery: ConformanceCase = {
  id: 'capability.max-turns-recovery',
  group: 'capabilities',
  title: 'declared without maxTurnsRecovery: a run asking for it throws CapabilityUnsupportedError',
  when: 'missing:maxTurnsRecovery',
  async run({ harness: make, settleMs }) {
    const { harness } = await make()
    const { agent } = await start(harness, scenario().text('x'), [])
    const error = await errorOf(
      harness.runner.run(agent, harness.input(prompt), { maxTurnsRecovery: true }),
      settleMs,
      'a runner declared without maxTurnsRecovery must refuse a run that asks for it',
    )
    expect(
      CapabilityUnsupportedError.isInstance(error),
      `a runner declared without maxTurnsRecovery rejects a run that asks for it with CapabilityUnsupportedError (got ${String(error)})`,
    ).toBe(true)
  },
}

export const capabilityToolHooks: ConformanceCase = {
  id: 'capability.tool-hooks',
  group: 'capabilities',
  title: 'declared without tool hooks: a run with onToolCallStart throws CapabilityUnsupportedError',
  when: 'missing:toolHooks',
  async run({ harness: make, settleMs }) {
    const { harness } = await make()
    const { agent } = await start(harness, scenario().text('x'), [])
    const options: RunOptions = { hooks: { onToolCallStart: () => undefined } }
    const error = await errorOf(
      harness.runner.run(agent, harness.input(prompt), options),
      settleMs,
      'a runner declared without tool hooks must refuse a run with onToolCallStart',
    )
    expect(
      CapabilityUnsupportedError.isInstance(error),
      `a runner declared without tool hooks rejects a run with onToolCallStart with CapabilityUnsupportedError (got ${String(error)})`,
    ).toBe(true)
  },
}

export const capabilityDurable: ConformanceCase = {
  id: 'capability.durable',
  group: 'capabilities',
  title: 'declared not durable: resume throws CapabilityUnsupportedError up front and changes nothing',
  when: 'missing:durable',
  async run({ harness: make, settleMs, features, skip }) {
    const { harness, activity } = await make()
    if (features.durable === undefined && harness.runner.capabilities.durable) {
      skip(
        'the runner declares capabilities.durable: true: the cases of the "durable runs" group check it instead',
      )
    }
    const refusal = (error: unknown) =>
      CapabilityUnsupportedError.isInstance(error) && error.capability === 'durable'
    const unknown = await start(harness, scenario().text('never'), [])
    const unknownError = await errorOf(
      harness.runner.resume(unknown.agent, 'conf-durable-refused'),
      settleMs,
      'a runner declared not durable must refuse resume',
    )
    expect(
      refusal(unknownError),
      `a runner declared not durable rejects resume with CapabilityUnsupportedError, capability 'durable' (got ${String(unknownError)})`,
    ).toBe(true)
    expect(
      await activity.store.get('conf-durable-refused'),
      'a resume refused for want of durability creates no activity',
    ).toBeUndefined()
    expect(unknown.player.calls, 'a refused resume makes no model call').toHaveLength(0)

    const agentId = 'conf-durable-finished'
    const { agent } = await start(harness, scenario().text('Done.'), [])
    await settles(
      harness.runner.run(agent, harness.input(prompt), { agentId }),
      settleMs,
      'a successful run must resolve',
    )
    const before = await activity.detail(agentId)
    const later = await start(harness, scenario().text('never'), [])
    const finishedError = await errorOf(
      harness.runner.resume(later.agent, agentId),
      settleMs,
      'a runner declared not durable must refuse resume of a run it finished',
    )
    expect(
      refusal(finishedError),
      `a runner declared not durable rejects resume of an existing run with CapabilityUnsupportedError, capability 'durable' (got ${String(finishedError)})`,
    ).toBe(true)
    expect(later.player.calls, 'a refused resume makes no model call').toHaveLength(0)
    expect(
      await activity.detail(agentId),
      'a resume refused for want of durability leaves the activity as it was (status, log)',
    ).toEqual(before)
  },
}
