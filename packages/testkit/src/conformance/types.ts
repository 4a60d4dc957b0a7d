import type {
  ActivityTracker,
  AnyToolDefinition,
  BaseAgentRunner,
  RunHooks,
  RunnerOptions,
} from '@runner/core'
import type { ScenarioPlayer } from '../scenario/player.js'
import type { Scenario } from '../scenario/scenario.js'

/** What the suite gives `createHarness` for each test. */
export interface HarnessOptions {
  /**
   * Options the runner must be created with: a fresh `activity` tracker for this test and, for
   * the hook tests, runner-level `hooks`. Spread them into your runner's options.
   */
  runnerOptions: RunnerOptions & { activity: ActivityTracker; hooks?: RunHooks }
}

/** An agent of the runner's framework whose model plays a scenario. */
export interface ScriptedAgentOf<TAgent> {
  agent: TAgent
  /** The player that hands the scenario's turns to the fake model (the suite checks what was consumed). */
  player: ScenarioPlayer
}

/**
 * How the suite drives one runner: the runner, and a driver that turns a scenario into the
 * framework's fake (a protocol fake server, a fake chat model, a mock language model...).
 */
export interface RunnerHarness<TAgent = unknown, TInput = unknown> {
  // biome-ignore lint/suspicious/noExplicitAny: the suite treats every runner's output alike
  runner: BaseAgentRunner<TAgent, TInput, any, unknown>
  /**
   * An agent whose model plays `scenario`, offering `tools` (neutral definitions: convert them to
   * your framework's tools) and the runner's `report_status` tool. The framework's own HTTP
   * retries must be off (`maxRetries: 0`): the suite counts model calls.
   */
  agent(
    scenario: Scenario,
    tools: AnyToolDefinition[],
  ): ScriptedAgentOf<TAgent> | Promise<ScriptedAgentOf<TAgent>>
  /** The runner's input for a user prompt (a string, `{ messages }`...). */
  input(prompt: string): TInput
  /**
   * The tool names a recorded model request offered (`player.calls[n].request`). When given, the
   * suite checks that the wrap-up turn of `maxTurnsRecovery` offers no tools.
   */
  toolNamesOf?(request: unknown): string[]
  /** Releases what the harness holds (servers, clients). Called after each test. */
  close?(): void | Promise<void>
}

/** What a runner can do; `false` for a feature the runner cannot provide. Default: all true. */
export interface ConformanceFeatures {
  /** `runStreamed` streams text deltas. If false, `runStreamed` must throw `CapabilityUnsupportedError`. */
  streaming: boolean
  /** `maxTurnsRecovery` works. If false, a run with it must throw `CapabilityUnsupportedError`. */
  maxTurnsRecovery: boolean
  /** `onToolCallStart` can deny or rewrite calls. If false, a run with that hook must throw `CapabilityUnsupportedError`. */
  toolHooks: boolean
}

/** Options of `runnerConformanceSuite`. */
export interface RunnerConformanceOptions<TAgent = unknown, TInput = unknown> {
  /** Name shown in the test report. */
  name: string
  /** Builds a harness for one test (a fresh runner on the given tracker). */
  createHarness(
    options: HarnessOptions,
  ): RunnerHarness<TAgent, TInput> | Promise<RunnerHarness<TAgent, TInput>>
  /** What the runner cannot do. */
  features?: Partial<ConformanceFeatures>
  /** Limit of each test, in ms. Default 10000. */
  timeoutMs?: number
}
