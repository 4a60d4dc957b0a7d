import type { ActivityTracker, RunContext, RunEvent, RunOptions, RunStream } from '@runner/core'
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

/**
 * Its tracker never records completion: activities stay `running` after a successful run (the
 * move to `complete` is dropped whether it goes through the tracker or, with the run's result,
 * straight to the store).
 */
function neverCompletes(activity: ActivityTracker): ActivityTracker {
  const store = withMethod(activity.store, 'append', (agentId: string, entry) =>
    entry.status === 'complete' ? activity.detail(agentId) : activity.store.append(agentId, entry),
  )
  return { ...activity, store, complete: (agentId) => activity.detail(agentId) }
}

/** `target` with one method replaced, its other methods still bound to it (class instances with private fields included). */
function withMethod<T extends object, K extends keyof T>(target: T, name: K, method: T[K]): T {
  return new Proxy(target, {
    get(object, key) {
      if (key === name) return method
      const value = Reflect.get(object, key, object)
      return typeof value === 'function' ? value.bind(object) : value
    },
  })
}

/**
 * Forgets its journal: every tool call of a resumed run looks new, so the tools that completed
 * before the crash or the wait run again (a runner that checks its own list of done calls and
 * loses it across processes makes the same mistake).
 */
export class RerunsJournaledToolsRunner extends ScriptedRunner {
  protected override execute(context: RunContext, agent: ScriptedAgent, input: string) {
    return super.execute(
      withMethod(context, 'journaled', () => undefined),
      agent,
      input,
    )
  }
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
  'runs journaled tool calls again': rerunsJournaled,
}

function rerunsJournaled(options: HarnessOptions): RunnerHarness<ScriptedAgent, string> {
  return {
    ...scriptedHarness(options),
    runner: new RerunsJournaledToolsRunner(options.runnerOptions),
    reopen: rerunsJournaled,
  }
}
