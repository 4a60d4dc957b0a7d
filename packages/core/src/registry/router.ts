import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import type { Executor } from '../lifecycle/run-lifecycle.js'
import { BaseAgentRunner, executorOf, isRunner } from '../runner/base-agent-runner.js'
import type { ExecuteResult, RunContext } from '../runner/types.js'
import { type AnyRunner, UnknownRunnerError } from './runner-registry.js'

/** Where a route sends a run: a runner's name, or its name and the model to run it with. */
export type RouteTarget = string | { runner: string; model?: string }

/**
 * A routing rule: given the run's input and metadata (the run's `metadata` over the router's
 * defaults: tenant, task size...), the runner to use, or `undefined` (or `null`, `false`) to let the
 * next rule decide. May be async.
 */
export type RouteRule<TInput = unknown> = (
  input: TInput,
  metadata: Readonly<Record<string, unknown>>,
) => RouteTarget | undefined | null | false | Promise<RouteTarget | undefined | null | false>

/** Runners by name, as a router needs them: `createRunners`' result is one. */
export interface RunnerSource {
  /** Names of the runners there are. */
  names(): string[]
  /**
   * The runner `name`, with `model` when given (a runner made for that model). Throws
   * `UnknownRunnerError` for an unknown name, `InvalidOptionsError` when `model` cannot be chosen.
   */
  get(name: string, options?: { model?: string }): AnyRunner
}

/** Options of `createRouter`. */
export interface RouterOptions<TInput = unknown> {
  /**
   * The runners routes name: `createRunners(config)`'s result (a route may then choose the model
   * too), or runner instances by name (a route that names a model is then refused).
   */
  runners: RunnerSource | Readonly<Record<string, AnyRunner>>
  /** The rules, tried in order; the first that returns a target wins. Default: none. */
  routes?: ReadonlyArray<RouteRule<TInput>>
  /** The target when no rule picks one. */
  default: RouteTarget
  /** The router's name in logs and as the default agentType. Default `'router'`. */
  name?: string
}

/** A route as `{ runner, model? }`, checked. */
interface Route {
  runner: string
  model: string | undefined
}

function isSource(value: unknown): value is RunnerSource {
  const source = value as Partial<RunnerSource> | null
  return typeof source?.get === 'function' && typeof source.names === 'function'
}

/** Runner instances by name as a `RunnerSource`: no model can be chosen, since they are made already. */
function instanceSource(runners: Readonly<Record<string, AnyRunner>>): RunnerSource {
  for (const [name, runner] of Object.entries(runners)) {
    if (!isRunner(runner)) {
      throw new InvalidOptionsError([{ field: `runners.${name}`, message: 'must be a runner' }], {
        subject: 'router options',
      })
    }
  }
  return {
    names: () => Object.keys(runners).sort(),
    get(name, options = {}) {
      const runner = Object.hasOwn(runners, name) ? runners[name] : undefined
      if (!runner) throw new UnknownRunnerError(name, Object.keys(runners), 'route', 'runner')
      if (options.model !== undefined) {
        throw new InvalidOptionsError(
          [
            {
              field: 'route.model',
              message: `runner "${name}" is an instance: a route can choose a model only among runners made by createRunners`,
            },
          ],
          { subject: 'route' },
        )
      }
      return runner
    },
  }
}

function routeOf(target: unknown, field: string): Route {
  if (typeof target === 'string' && target) return { runner: target, model: undefined }
  if (typeof target === 'object' && target !== null) {
    const { runner, model } = target as { runner?: unknown; model?: unknown }
    if (
      typeof runner === 'string' &&
      runner &&
      (model === undefined || (typeof model === 'string' && model))
    ) {
      return { runner, model: model as string | undefined }
    }
  }
  throw new InvalidOptionsError(
    [{ field, message: 'must be a runner name or { runner: name, model?: string } (non-empty strings)' }],
    { subject: 'route' },
  )
}

/**
 * A runner that picks, for each run, which runner (and model) runs it: the first of `routes` that
 * returns a target, else `default`. It runs like any runner (`run`, `runStreamed`, one activity
 * per run) and composes: `withFallback(router, backup)` falls back when the routed runner fails.
 *
 * The run's lifecycle is the router's: its activity tracker, prompts and defaults (hooks, retry,
 * maxTurns...) are those of the default route's runner, as `withFallback` takes the primary's. The
 * chosen runner's `execute` runs in it; the route is a `note` step of the trajectory
 * (`{ route: { runner, model } }`). Every runner gets the agent given to `run`: share one
 * plain-data agent among runners whose agent shapes agree (`OpenAIRunner`, `ClaudeRunner`).
 */
export class RouterRunner<TAgent = unknown, TInput = unknown, TOutput = unknown> extends BaseAgentRunner<
  TAgent,
  TInput,
  TOutput,
  unknown
> {
  readonly #source: RunnerSource
  readonly #routes: ReadonlyArray<RouteRule<TInput>>
  readonly #default: Route
  readonly #primary: AnyRunner
  readonly #used = new Set<Executor<unknown, unknown, unknown>>()

  constructor(options: RouterOptions<TInput>) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionsError(
        [{ field: 'options', message: 'must be { runners, routes?, default }' }],
        {
          subject: 'router options',
        },
      )
    }
    const source = isSource(options.runners) ? options.runners : instanceSource(options.runners ?? {})
    const routes = options.routes ?? []
    if (!Array.isArray(routes) || routes.some((rule) => typeof rule !== 'function')) {
      throw new InvalidOptionsError(
        [{ field: 'routes', message: 'must be a list of functions (input, metadata) => target' }],
        { subject: 'router options' },
      )
    }
    const fallbackRoute = routeOf(options.default, 'default')
    const primary = source.get(
      fallbackRoute.runner,
      fallbackRoute.model ? { model: fallbackRoute.model } : {},
    )
    const executor = executorOf(primary)
    const { activity: _activity, name: _name, ...defaults } = executor.defaults
    super({ ...(defaults as object), activity: executor.activity, name: options.name ?? 'router' })
    this.#source = source
    this.#routes = routes
    this.#default = fallbackRoute
    this.#primary = primary
  }

  override get tools(): { reportStatus: unknown } {
    return this.#primary.tools
  }

  /** The route a run with this input and metadata takes, without running it. */
  async route(input: TInput, metadata: Readonly<Record<string, unknown>> = {}): Promise<Route> {
    for (const [index, rule] of this.#routes.entries()) {
      const target = await rule(input, metadata)
      if (target !== undefined && target !== null && target !== false)
        return routeOf(target, `routes.${index}`)
    }
    return this.#default
  }

  protected override async execute(
    context: RunContext,
    agent: TAgent,
    input: TInput,
  ): Promise<ExecuteResult<TOutput>> {
    const route = await this.route(input, context.metadata)
    const runner = this.#source.get(route.runner, route.model ? { model: route.model } : {})
    const executor = executorOf(runner)
    executor.validate(agent, input)
    context.recordStep({
      kind: 'note',
      data: { route: { runner: route.runner, ...(route.model ? { model: route.model } : {}) } },
    })
    this.#used.add(executor)
    return (await executor.execute(context, agent, input)) as ExecuteResult<TOutput>
  }

  /** Every runner a route has used releases what it holds, as `withFallback` does for its links. */
  protected override async postRun(context: RunContext | undefined): Promise<void> {
    for (const executor of this.#used) await executor.postRun(context).catch(() => {})
  }

  protected override isRetryable(error: unknown): boolean {
    return this.#source.names().some((name) => {
      try {
        return executorOf(this.#source.get(name)).isRetryable(error)
      } catch {
        return false
      }
    })
  }

  protected override agentTypeOf(agent: TAgent): string {
    return executorOf(this.#primary).agentTypeOf(agent)
  }
}

/** A runner that routes each run by rules: see `RouterRunner`. */
export function createRouter<TAgent = unknown, TInput = unknown, TOutput = unknown>(
  options: RouterOptions<TInput>,
): RouterRunner<TAgent, TInput, TOutput> {
  return new RouterRunner<TAgent, TInput, TOutput>(options)
}
