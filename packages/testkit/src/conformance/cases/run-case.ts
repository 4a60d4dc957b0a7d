import { createActivityTracker, type LifecycleMessages } from '@runner/core'
import type { ConformanceFeatures, RunnerConformanceOptions, RunnerHarness } from '../types.js'
import type { CaseContext, CaseOutcome, ConformanceCase, OpenedHarness } from './conformance-case.js'
import { reopenMissing } from './durable-helpers.js'

/** Full features with the declared ones applied (`durable` stays unset unless declared: the runner's capabilities decide). */
export function resolveFeatures(features: Partial<ConformanceFeatures> = {}): ConformanceFeatures {
  return { streaming: true, maxTurnsRecovery: true, toolHooks: true, ...features }
}

/** What `context.skip` throws: caught by `runCase`, never a failure. */
class CaseSkipped extends Error {
  override name = 'CaseSkipped'
}

/**
 * Runs one case against a harness factory; what the suite's `it` calls, and the test kit's own
 * tests. Resolves with `{ status: 'skipped', reason }` when the case does not apply (a runner that
 * is not durable, a harness without `reopen`); rejects with the broken clause when it fails.
 */
export async function runCase(
  testCase: ConformanceCase,
  options: Pick<RunnerConformanceOptions, 'createHarness' | 'features' | 'timeoutMs'>,
): Promise<CaseOutcome> {
  const features = resolveFeatures(options.features)
  const opened: RunnerHarness[] = []
  const messagesOf = new WeakMap<RunnerHarness, Partial<LifecycleMessages>>()
  const context: CaseContext = {
    features,
    settleMs: Math.max(1000, Math.floor((options.timeoutMs ?? 10_000) / 3)),
    async harness(settings = {}) {
      const activity = createActivityTracker(settings.messages ? { messages: settings.messages } : {})
      const runnerOptions = settings.hooks ? { activity, hooks: settings.hooks } : { activity }
      const harness = (await options.createHarness({ runnerOptions })) as RunnerHarness
      opened.push(harness)
      if (settings.messages) messagesOf.set(harness, settings.messages)
      return { harness, activity }
    },
    async reopen(first: OpenedHarness) {
      if (!first.harness.reopen) {
        context.skip(reopenMissing)
      }
      const messages = messagesOf.get(first.harness)
      const activity = createActivityTracker({
        store: first.activity.store,
        ...(messages ? { messages } : {}),
      })
      const harness = (await first.harness.reopen({ runnerOptions: { activity } })) as RunnerHarness
      opened.push(harness)
      return { harness, activity }
    },
    skip(reason) {
      throw new CaseSkipped(reason)
    },
  }
  try {
    await testCase.run(context)
    return { status: 'passed' }
  } catch (error) {
    if (error instanceof CaseSkipped) return { status: 'skipped', reason: error.message }
    throw error
  } finally {
    for (const harness of opened) await harness.close?.()
  }
}
