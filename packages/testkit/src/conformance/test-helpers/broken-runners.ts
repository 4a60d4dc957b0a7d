import type { ActivityTracker, RunEvent, RunOptions, RunStream } from '@runner/core'
import type { ScriptStep } from '@runner/core/test'
import { scriptedHarness } from '../../scripted/scripted-harness.js'
import { type ScriptedAgent, ScriptedRunner } from '../../scripted/scripted-runner.js'
import type { HarnessOptions, RunnerHarness } from '../types.js'

/**
 * Runners that break the contract on purpose, to prove the suite notices. `BaseAgentRunner`
 * makes these mistakes hard to make inside `execute`, so each fixture breaks it where a real
 * runner could: around the base class, or in the store it is given.
 */

/** Forgets to pass the caller's signal on (a wrapper that rebuilds the options and drops `signal`). */
export class IgnoresAbortRunner extends ScriptedRunner {
  override run(agent: ScriptedAgent, input: string, options: RunOptions<ScriptStep> = {}) {
    const { signal: _dropped, ...rest } = options
    return super.run(agent, input, rest)
  }

  override runStreamed(agent: ScriptedAgent, input: string, options: RunOptions<ScriptStep> = {}) {
    const { signal: _dropped, ...rest } = options
    return super.runStreamed(agent, input, rest)
  }
}

/** Its tracker never records completion: activities stay `running` after a successful run. */
function neverCompletes(activity: ActivityTracker): ActivityTracker {
  return { ...activity, complete: (agentId) => activity.detail(agentId) }
}

/** Emits `run-end` before the last `text-delta`. */
export class EarlyRunEndRunner extends ScriptedRunner {
  override runStreamed(agent: ScriptedAgent, input: string, options: RunOptions<ScriptStep> = {}) {
    const stream = super.runStreamed(agent, input, options)
    const reordered = {
      agentId: stream.agentId,
      result: stream.result,
      abort: (reason?: unknown) => stream.abort(reason),
      async *[Symbol.asyncIterator]() {
        const events: RunEvent[] = []
        for await (const event of stream) events.push(event)
        const end = events.pop()
        const lastDelta = events.findLastIndex((event) => event.type === 'text-delta')
        if (end) events.splice(lastDelta < 0 ? events.length : lastDelta, 0, end)
        yield* events
      },
    }
    return reordered as unknown as RunStream<ScriptStep>
  }
}

export const brokenHarnesses: Record<
  string,
  (options: HarnessOptions) => RunnerHarness<ScriptedAgent, string>
> = {
  'ignores the abort signal': (options) => ({
    ...scriptedHarness(options),
    runner: new IgnoresAbortRunner(options.runnerOptions),
  }),
  'never completes its activity': (options) =>
    scriptedHarness({
      runnerOptions: { ...options.runnerOptions, activity: neverCompletes(options.runnerOptions.activity) },
    }),
  'emits run-end before the last text-delta': (options) => ({
    ...scriptedHarness(options),
    runner: new EarlyRunEndRunner(options.runnerOptions),
  }),
}
