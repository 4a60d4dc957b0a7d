import { CapabilityUnsupportedError } from '@runner/core'
import { describe, expect, it } from 'vitest'
import { scriptedHarness } from '../scripted/scripted-harness.js'
import { ScriptedRunner } from '../scripted/scripted-runner.js'
import { casesFor, conformanceCases, reopenMissing, resolveFeatures, runCase } from './cases/index.js'
import { runnerConformanceSuite } from './runner-suite.js'
import { brokenHarnesses } from './test-helpers/broken-runners.js'
import type { ConformanceFeatures, HarnessOptions, RunnerHarness } from './types.js'

/** Runs every applicable case against a harness; returns each failed case's message, by id. */
async function failures(
  createHarness: (options: HarnessOptions) => RunnerHarness,
  features: Partial<ConformanceFeatures> = {},
) {
  return (await outcomes(createHarness, features)).failed
}

/** Runs every applicable case against a harness: the failed cases' messages and the skipped cases' reasons, by id. */
async function outcomes(
  createHarness: (options: HarnessOptions) => RunnerHarness,
  features: Partial<ConformanceFeatures> = {},
) {
  const failed = new Map<string, string>()
  const skipped = new Map<string, string>()
  for (const testCase of casesFor(resolveFeatures(features))) {
    try {
      const outcome = await runCase(testCase, { createHarness, features, timeoutMs: 3000 })
      if (outcome.status === 'skipped') skipped.set(testCase.id, outcome.reason)
    } catch (error) {
      failed.set(testCase.id, error instanceof Error ? error.message : String(error))
    }
  }
  return { failed, skipped }
}

const durableCaseIds = conformanceCases
  .filter((testCase) => testCase.when === 'durable')
  .map((testCase) => testCase.id)

describe('the conformance suite has teeth', () => {
  it('a runner that ignores the abort signal fails the cancellation cases', async () => {
    const messages = await failures(brokenHarnesses['ignores the abort signal']!)
    const failed = [...messages.keys()]
    expect(failed).toEqual(
      expect.arrayContaining(['cancel.before-start', 'cancel.during-model-call', 'cancel.inside-tool']),
    )
    expect(failed).not.toContain('lifecycle.success')
    expect(messages.get('cancel.before-start')).toContain(
      'a run whose signal is aborted before it starts must reject with RunCanceledError',
    )
    expect(messages.get('cancel.inside-tool')).toContain(
      'aborting the signal inside a tool rejects the run with RunCanceledError',
    )
  }, 30_000)

  it('a runner that never completes its activity fails the lifecycle cases', async () => {
    const messages = await failures(brokenHarnesses['never completes its activity']!)
    const failed = [...messages.keys()]
    expect(failed).toEqual(
      expect.arrayContaining(['lifecycle.success', 'retry.then-success', 'max-turns.recovery']),
    )
    expect(failed).not.toContain('cancel.during-model-call')
    expect(messages.get('lifecycle.success')).toContain('a successful run ends its activity complete')
    expect(messages.get('lifecycle.never-left-running')).toContain(
      'no exit path may leave an activity running',
    )
  }, 30_000)

  it('a runner that emits run-end before the last text-delta fails the streaming order case', async () => {
    const messages = await failures(brokenHarnesses['emits run-end before the last text-delta']!)
    const failed = [...messages.keys()]
    expect(failed).toContain('streaming.order')
    expect(failed).not.toContain('lifecycle.success')
    expect(messages.get('streaming.order')).toContain('run-end is the last event of a successful stream')
  }, 30_000)

  it('a runner that runs journaled tool calls again fails the durable cases', async () => {
    const messages = await failures(brokenHarnesses['runs journaled tool calls again']!)
    const failed = [...messages.keys()]
    expect(failed).toEqual(
      expect.arrayContaining([
        'durable.crash-resume',
        'durable.approval-approve',
        'durable.suspend-across-instances',
      ]),
    )
    expect(failed).not.toContain('lifecycle.success')
    expect(failed).not.toContain('durable.approval-deny')
    expect(messages.get('durable.crash-resume')).toContain(
      'no tool call that completed before the crash runs again on resume',
    )
    expect(messages.get('durable.approval-approve')).toContain(
      'a call that completed before the wait is journaled and not run again when the run resumes',
    )
  }, 30_000)

  it('a harness without reopen skips the cases that need a second instance, saying what to add, and runs the others', async () => {
    const { failed, skipped } = await outcomes((options) => {
      const { reopen: _none, ...harness } = scriptedHarness(options)
      return harness
    })
    expect([...failed.keys()]).toEqual([])
    expect([...skipped.keys()].sort()).toEqual([
      'capability.durable',
      'durable.crash-resume',
      'durable.suspend-across-instances',
    ])
    expect(skipped.get('durable.crash-resume')).toBe(reopenMissing)
    expect(reopenMissing).toContain('reopen: createHarness')
  }, 30_000)

  it('a runner declared durable in features whose capabilities say otherwise fails the durable cases', async () => {
    const { failed } = await outcomes(
      (options) => ({ ...scriptedHarness(options), runner: new NotDurableRunner(options.runnerOptions) }),
      { durable: true },
    )
    expect([...failed.keys()].sort()).toEqual([...durableCaseIds].sort())
    expect(failed.get('durable.resume-unknown')).toContain(
      'a runner declared durable (features.durable: true) reports capabilities.durable: true',
    )
  }, 30_000)

  it('every case ids is unique', () => {
    const ids = conformanceCases.map((testCase) => testCase.id)
    expect(new Set(ids).size).toBe(ids.length)
  })
})

/** A ScriptedRunner that declares it cannot continue a run. */
class NotDurableRunner extends ScriptedRunner {
  override get capabilities() {
    return { ...super.capabilities, durable: false }
  }
}

describe('features declared missing are checked the other way', () => {
  class LimitedRunner extends ScriptedRunner {
    override get capabilities() {
      return { streaming: false, maxTurnsRecovery: false, toolHooks: false, durable: false }
    }
  }
  const limitedHarness = (options: HarnessOptions) => ({
    ...scriptedHarness(options),
    runner: new LimitedRunner(options.runnerOptions),
  })

  runnerConformanceSuite({
    name: 'A runner without streaming, recovery or tool hooks',
    createHarness: limitedHarness,
    features: { streaming: false, maxTurnsRecovery: false, toolHooks: false },
  })

  it('a runner that claims a feature is missing but still provides it fails the capability cases', async () => {
    const capabilityCases = conformanceCases.filter((testCase) => testCase.id.startsWith('capability.'))
    for (const testCase of capabilityCases) {
      const outcome = await runCase(testCase, {
        createHarness: scriptedHarness,
        features: { streaming: false, maxTurnsRecovery: false, toolHooks: false, durable: false },
      }).then(
        ({ status }) => status,
        (error: unknown) => (CapabilityUnsupportedError.isInstance(error) ? 'unexpected' : 'failed'),
      )
      expect(outcome, testCase.id).toBe('failed')
    }
  })
})
