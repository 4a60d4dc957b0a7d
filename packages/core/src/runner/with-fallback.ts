import { errorMessage } from '../activity/tracker.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { BaseAgentRunner } from './base-agent-runner.js'
import { AttemptContext } from './run-session.js'
import type { ExecuteResult, RunContext } from './types.js'

// biome-ignore lint/suspicious/noExplicitAny: runners of any framework can be chained
type AnyRunner = BaseAgentRunner<any, any, any>

/** A runner with the agent it should run, for chains whose runners take different agent shapes. */
export interface FallbackEntry<TRunner extends AnyRunner = AnyRunner> {
  runner: TRunner
  /** The agent to give this runner, instead of the one passed to `run`. */
  agent?: TRunner extends BaseAgentRunner<infer TAgent, unknown, unknown> ? TAgent : unknown
  /** Name used in the activity log. Default: the runner's name. */
  name?: string
}

interface Link {
  runner: AnyRunner
  agent: unknown
  hasAgent: boolean
  name: string
}

function isEntry(value: AnyRunner | FallbackEntry): value is FallbackEntry {
  return (
    !(value instanceof BaseAgentRunner) && typeof value === 'object' && value !== null && 'runner' in value
  )
}

/** True for failures a fallback must not paper over: cancellation and invalid input. */
function stopsFallback(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted || RunCanceledError.isInstance(error) || InvalidOptionsError.isInstance(error)
}

/**
 * A runner that runs `primary`, and when it fails for a reason other than cancellation or invalid
 * input, runs the next fallback in the same run (same agentId, same activity), logging
 * `Falling back to <name>: <reason>`. Runners of different frameworks can be chained: give each
 * its own agent with `{ runner, agent }`, or share one agent definition (`defineTool` tools run on
 * both `OpenAIRunner` and `ClaudeRunner`).
 *
 * The chain uses the primary's activity tracker, prompts and defaults (hooks, retry, maxTurns);
 * a retry repeats the whole chain. Each runner's own `execute` runs inside the one lifecycle.
 */
export class FallbackRunner<TAgent, TInput, TOutput> extends BaseAgentRunner<TAgent, TInput, TOutput> {
  readonly #links: Link[]

  constructor(entries: ReadonlyArray<AnyRunner | FallbackEntry>) {
    const links = entries.map((entry): Link => {
      const runner = isEntry(entry) ? entry.runner : entry
      if (!(runner instanceof BaseAgentRunner)) {
        throw new InvalidOptionsError(
          [{ field: 'runners', message: 'every entry must be a runner or { runner, agent? }' }],
          {
            subject: 'withFallback arguments',
          },
        )
      }
      const hasAgent = isEntry(entry) && 'agent' in entry
      return {
        runner,
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
    const { activity: _activity, name: _name, ...defaults } = BaseAgentRunner.optionsOf(primary.runner)
    super({
      ...defaults,
      activity: primary.runner.activity,
      name: links.map((link) => link.name).join(' > '),
    })
    this.#links = links
  }

  override get tools(): { reportStatus: unknown } {
    return this.#links[0]!.runner.tools
  }

  protected override async execute(
    context: RunContext,
    agent: TAgent,
    input: TInput,
  ): Promise<ExecuteResult<TOutput>> {
    for (let index = 0; ; index++) {
      const link = this.#links[index]!
      try {
        return await BaseAgentRunner.executeOf(
          link.runner,
          context,
          link.hasAgent ? link.agent : agent,
          input,
        )
      } catch (error) {
        const next = this.#links[index + 1]
        if (!next || stopsFallback(error, context.signal)) throw error
        const reason = errorMessage(error)
        context.recordStep({ kind: 'fallback', data: { from: link.name, to: next.name, error: reason } })
        await context.report(`Falling back to ${next.name}: ${reason}`)
        if (context instanceof AttemptContext) context.restartTurns()
      }
    }
  }

  /** Every runner of the chain checks its agent before the run starts. */
  protected override validate(agent: TAgent, input: TInput): void {
    for (const link of this.#links)
      BaseAgentRunner.validateOf(link.runner, link.hasAgent ? link.agent : agent, input)
  }

  protected override isRetryable(error: unknown): boolean {
    return this.#links.some((link) => BaseAgentRunner.isRetryableOf(link.runner, error))
  }

  protected override agentTypeOf(agent: TAgent): string {
    const primary = this.#links[0]!
    return BaseAgentRunner.agentTypeOfRunner(primary.runner, primary.hasAgent ? primary.agent : agent)
  }
}

/** Chains runners: see `FallbackRunner`. */
export function withFallback<TAgent, TInput, TOutput>(
  primary: BaseAgentRunner<TAgent, TInput, TOutput> | FallbackEntry<BaseAgentRunner<TAgent, TInput, TOutput>>,
  ...fallbacks: Array<AnyRunner | FallbackEntry>
): FallbackRunner<TAgent, TInput, TOutput> {
  return new FallbackRunner<TAgent, TInput, TOutput>([primary, ...fallbacks])
}
