import { describe, it } from 'vitest'
import { casesFor, resolveFeatures, runCase } from './cases/index.js'
import type { RunnerConformanceOptions } from './types.js'

/**
 * Registers the conformance tests for one runner: lifecycle, report_status, streaming,
 * cancellation, timeouts, retries, turn limits, hooks, usage, trajectory and concurrency. A
 * feature declared missing in `features` is checked the other way: its method must throw
 * `CapabilityUnsupportedError`.
 *
 * ```ts
 * runnerConformanceSuite({ name: 'MyRunner', createHarness: ({ runnerOptions }) => ({ runner: new MyRunner(runnerOptions), agent: ..., input: (prompt) => prompt }) })
 * ```
 */
export function runnerConformanceSuite<TAgent, TInput>(
  options: RunnerConformanceOptions<TAgent, TInput>,
): void {
  const features = resolveFeatures(options.features)
  const timeout = options.timeoutMs ?? 10_000
  const cases = casesFor(features)
  describe(`${options.name} keeps the runner contract`, () => {
    const groups = [...new Set(cases.map((testCase) => testCase.group))]
    for (const group of groups) {
      describe(group, () => {
        for (const testCase of cases.filter((candidate) => candidate.group === group)) {
          it(testCase.title, () => runCase(testCase, options as RunnerConformanceOptions), timeout)
        }
      })
    }
  })
}
