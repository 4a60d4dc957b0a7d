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
   * your framework's tools, keeping each tool's `needsApproval`: the approval cases give a tool
   * that needs one) and the runner's `report_status` tool. The framework's own HTTP retries must
   * be off (`maxRetries: 0`): the suite counts model calls.
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
  /**
   * Another harness whose runner is a new instance over the same activity store, built as a second
   * process would build it after the first one stopped: the durable cases crash a run on one
   * instance and resume it on the other, or suspend on one and approve and resume on the other.
   * `options.runnerOptions.activity` is a new tracker over the store of the first harness; build
   * the runner with it, and share with the first harness anything else the runner keeps durable
   * state in (none for a runner that keeps it all in the activity store: then `reopen` is your
   * `createHarness` itself). Without it, the cases that need a second instance are skipped, saying
   * so. Closed by the suite like the first harness.
   */
  reopen?(options: HarnessOptions): RunnerHarness<TAgent, TInput> | Promise<RunnerHarness<TAgent, TInput>>
  /** Releases what the harness holds (servers, clients). Called after each test. */
  close?(): void | Promise<void>
}

/**
 * What a runner can do; `false` for a feature the runner cannot provide. Default: all true, except
 * `durable`, which follows the runner's `capabilities.durable` unless declared.
 */
export interface ConformanceFeatures {
  /** `runStreamed` streams text deltas. If false, `runStreamed` must throw `CapabilityUnsupportedError`. */
  streaming: boolean
  /** `maxTurnsRecovery` works. If false, a run with it must throw `CapabilityUnsupportedError`. */
  maxTurnsRecovery: boolean
  /** `onToolCallStart` can deny or rewrite calls. If false, a run with that hook must throw `CapabilityUnsupportedError`. */
  toolHooks: boolean
  /**
   * Runs continue from a checkpoint: crash and resume, approvals (`needsApproval`), resume
   * refusals. If false, `resume` must throw `CapabilityUnsupportedError` (capability `durable`).
   * Default: what the runner's `capabilities.durable` says, read when each case runs (the cases of
   * the other side are skipped, saying so).
   */
  durable?: boolean
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
