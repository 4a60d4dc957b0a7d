import { describe, it } from 'vitest'
import { casesFor, resolveFeatures, runCase } from './cases/index.js'
import type { RunnerConformanceOptions } from './types.js'

/**
 * Registers the conformance tests for one runner: lifecycle, report_status, streaming,
 * cancellation, timeouts, retries, turn limits, hooks, usage, trajectory, concurrency and durable
 * runs (crash and resume, approvals, resume refusals). A feature declared missing in `features` is
 * checked the other way: its method must throw `CapabilityUnsupportedError`. A case that does not
 * apply (durable runs on a runner that is not durable, a second instance from a harness without
 * `reopen`) is reported as skipped, with the reason.
 *
 * ```ts
 * const createHarness = ({ runnerOptions }: HarnessOptions): RunnerHarness<MyAgent, string> => ({
 *   runner: new MyRunner(runnerOptions),
 *   agent: (scenario, tools) => ..., // a model that plays the scenario, the tools converted
 *   input: (prompt) => prompt,
 *   reopen: createHarness, // a second instance over the same store, for the durable cases
 * })
 * runnerConformanceSuite({ name: 'MyRunner', createHarness })
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
          it(
            testCase.title,
            async (context) => {
              const outcome = await runCase(testCase, options as RunnerConformanceOptions)
              if (outcome.status === 'skipped') context.skip(outcome.reason)
            },
            timeout,
          )
        }
      })
    }
  })
}
