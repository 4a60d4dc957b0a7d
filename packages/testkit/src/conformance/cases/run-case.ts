import { createActivityTracker } from '@runner/core'
import type { ConformanceFeatures, RunnerConformanceOptions, RunnerHarness } from '../types.js'
import type { CaseContext, ConformanceCase } from './conformance-case.js'

/** Full features with the declared ones applied. */
export function resolveFeatures(features: Partial<ConformanceFeatures> = {}): ConformanceFeatures {
  return { streaming: true, maxTurnsRecovery: true, toolHooks: true, ...features }
}

/** Runs one case against a harness factory; what the suite's `it` calls, and the test kit's own tests. */
export async function runCase(
  testCase: ConformanceCase,
  options: Pick<RunnerConformanceOptions, 'createHarness' | 'features' | 'timeoutMs'>,
): Promise<void> {
  const features = resolveFeatures(options.features)
  const opened: RunnerHarness[] = []
  const context: CaseContext = {
    features,
    settleMs: Math.max(1000, Math.floor((options.timeoutMs ?? 10_000) / 3)),
    async harness(settings = {}) {
      const activity = createActivityTracker(settings.messages ? { messages: settings.messages } : {})
      const runnerOptions = settings.hooks ? { activity, hooks: settings.hooks } : { activity }
      const harness = (await options.createHarness({ runnerOptions })) as RunnerHarness
      opened.push(harness)
      return { harness, activity }
    },
  }
  try {
    await testCase.run(context)
  } finally {
    for (const harness of opened) await harness.close?.()
  }
}
