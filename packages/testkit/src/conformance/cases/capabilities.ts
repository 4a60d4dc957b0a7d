import { CapabilityUnsupportedError, type RunOptions } from '@runner/core'
import { expect } from 'vitest'
import { scenario } from '../../scenario/scenario.js'
import { errorOf, prompt, start } from './case-helpers.js'
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
