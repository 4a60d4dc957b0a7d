import { errorMessage } from '../activity/tracker.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { attemptOf } from '../lifecycle/attempt-context.js'
import type { Executor } from '../lifecycle/run-lifecycle.js'
import { BaseAgentRunner, executorOf, isRunner } from './base-agent-runner.js'
import type { ExecuteResult, RunContext } from './types.js'

// biome-ignore lint/suspicious/noExplicitAny: runners of any framework can be chained
type AnyRunner = BaseAgentRunner<any, any, any, any>

/** A runner with the agent it should run, for chains whose runners take different agent shapes. */
export interface FallbackEntry<TRunner extends AnyRunner = AnyRunner> {
  runner: TRunner
  /** The agent to give this runner, instead of the one passed to `run`. */
  agent?: TRunner extends BaseAgentRunner<infer TAgent, unknown, unknown, unknown> ? TAgent : unknown
  /** Name used in the activity log. Default: the runner's name. */
  name?: string
}

interface Link {
  executor: Executor<unknown, unknown, unknown>
  agent: unknown
  hasAgent: boolean
  name: string
}

function isEntry(value: unknown): value is FallbackEntry {
  return !isRunner(value) && typeof value === 'object' && value !== null && 'runner' in value
}

/** True for failures a fallback must not paper over: cancellation and invalid input. */
function stopsFallback(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted || RunCanceledError.isInstance(error) || InvalidOptionsError.isInstance(error)
}

/**
 * A runner that runs `primary`, and when it fails for a reason other than cancellation or invalid
 * input, runs the next fallback in the same attempt (same agentId, same activity), logging
 * `Falling back to <name>: <reason>` (kind `fallback`). Runners of different frameworks can be
 * chained: give each its own agent with `{ runner, agent }`, or share one agent definition
 * (`defineTool` tools run on both `OpenAIRunner` and `ClaudeRunner`).
 *
 * The chain uses the primary's activity tracker, prompts and defaults (hooks, retry, maxTurns);
 * a retry repeats the whole chain. Each runner's `execute` runs inside the one lifecycle, reached
 * through the lifecycle's own seam (`executorOf`), whatever copy of `@runner/core` made it.
 */
export class FallbackRunner<TAgent, TInput, TOutput> extends BaseAgentRunner<
  TAgent,
  TInput,
  TOutput,
  unknown
> {
  readonly #links: Link[]
  readonly #primaryRunner: AnyRunner

  constructor(entries: ReadonlyArray<AnyRunner | FallbackEntry>) {
    const links = entries.map((entry): Link => {
      const runner: unknown = isEntry(entry) ? entry.runner : entry
      if (!isRunner(runner)) {
        throw new InvalidOptionsError(
          [{ field: 'runners', message: 'every entry must be a runner or { runner, agent? }' }],
          { subject: 'withFallback arguments' },
        )
      }
      const hasAgent = isEntry(entry) && 'agent' in entry
      return {
        executor: executorOf(runner),
        agent: hasAgent ? entry.agent : undefined,
        hasAgent,
        name: (isEntry(entry) && entry.name) || runner.name,
      }
    })
    const primary = links[0]
    if (!primary) {
      throw new InvalidOptionsError([{ field: 'primary', message: 'give at least one runner' }], {
        subject: 'withFallback arguments',
      })
    }
    const { activity: _activity, name: _name, ...defaults } = primary.executor.defaults
    super({
      ...(defaults as object),
      activity: primary.executor.activity,
      name: links.map((link) => link.name).join(' > '),
    })
    this.#links = links
    this.#primaryRunner = isEntry(entries[0]) ? entries[0].runner : (entries[0] as AnyRunner)
  }

  override get tools(): { reportStatus: unknown } {
    return this.#primaryRunner.tools
  }

  protected override async execute(
    context: RunContext,
    agent: TAgent,
    input: TInput,
  ): Promise<ExecuteResult<TOutput>> {
    for (let index = 0; ; index++) {
      const link = this.#links[index]!
      try {
        return (await link.executor.execute(
          context,
          link.hasAgent ? link.agent : agent,
          input,
        )) as ExecuteResult<TOutput>
      } catch (error) {
        const next = this.#links[index + 1]
        if (!next || stopsFallback(error, context.signal)) throw error
        const reason = errorMessage(error)
        context.recordStep({ kind: 'fallback', data: { from: link.name, to: next.name, error: reason } })
        await attemptOf(context)?.handOver(`Falling back to ${next.name}: ${reason}`)
      }
    }
  }

  /** Every runner of the chain checks its agent before the run starts. */
  protected override validate(agent: TAgent, input: TInput): void {
    for (const link of this.#links) link.executor.validate(link.hasAgent ? link.agent : agent, input)
  }

  protected override isRetryable(error: unknown): boolean {
    return this.#links.some((link) => link.executor.isRetryable(error))
  }

  protected override agentTypeOf(agent: TAgent): string {
    const primary = this.#links[0]!
    return primary.executor.agentTypeOf(primary.hasAgent ? primary.agent : agent)
  }

  protected override async postRun(context: RunContext | undefined): Promise<void> {
    for (const link of this.#links) await link.executor.postRun(context).catch(() => {})
  }
}

/** Chains runners: see `FallbackRunner`. */
export function withFallback<TAgent, TInput, TOutput>(
  primary:
    | BaseAgentRunner<TAgent, TInput, TOutput, unknown>
    | FallbackEntry<BaseAgentRunner<TAgent, TInput, TOutput, unknown>>,
  ...fallbacks: Array<AnyRunner | FallbackEntry>
): FallbackRunner<TAgent, TInput, TOutput> {
  return new FallbackRunner<TAgent, TInput, TOutput>([primary, ...fallbacks])
}
