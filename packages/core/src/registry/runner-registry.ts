import { suggestKey } from '../config/suggest-key.js'
import { ConfigError } from '../errors/config-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { hasMarker } from '../errors/runner-error.js'
import type { BaseAgentRunner } from '../runner/base-agent-runner.js'
import { isRunner } from '../runner/base-agent-runner.js'
import { errorMessage } from '../util/error-message.js'
import { importFromSomewhere } from '../util/import-package.js'

// biome-ignore lint/suspicious/noExplicitAny: a registry holds runners of any framework
export type AnyRunner = BaseAgentRunner<any, any, any, any>

/** Makes a runner from its constructor options (a config entry without its `type` and `fallback`). */
export type RunnerFactory = (options: Record<string, unknown>) => AnyRunner

/** A runner that ships as its own package, created by name without `@runner/core` depending on it. */
interface BuiltInRunner {
  /** The package to import, lazily, on first use. */
  readonly packageName: string
  /** The class it exports. */
  readonly exportName: string
  /** Whether its constructor takes a `model` that wins over the agent's (a route's model needs it). */
  readonly takesModel: boolean
}

/** The adapters of this project, by the name a config gives as `type`. */
const builtIns: Readonly<Record<string, BuiltInRunner>> = {
  openai: { packageName: '@runner/openai', exportName: 'OpenAIRunner', takesModel: true },
  claude: { packageName: '@runner/claude', exportName: 'ClaudeRunner', takesModel: true },
  langchain: { packageName: '@runner/langchain', exportName: 'LangChainRunner', takesModel: false },
  'ai-sdk': { packageName: '@runner/ai-sdk', exportName: 'AISDKRunner', takesModel: false },
}

/** The built-in runner names: `openai`, `claude`, `langchain`, `ai-sdk`. */
export const BUILT_IN_RUNNERS: readonly string[] = Object.freeze(Object.keys(builtIns))

const unknownMarker = Symbol.for('runner.error.UnknownRunnerError')

/** The close name among `known`, compared without case, or `undefined`. */
export function suggestName(name: string, known: readonly string[]): string | undefined {
  const match = suggestKey(
    name.toUpperCase(),
    known.map((each) => each.toUpperCase()),
  )
  return match === undefined ? undefined : known.find((each) => each.toUpperCase() === match)
}

/**
 * A runner type (or a runner of a config) that nobody registered. A `ConfigError` whose one issue
 * names the key that used it; `known` lists the names there are and `suggestion` the close one.
 */
export class UnknownRunnerError extends ConfigError {
  readonly [unknownMarker] = true
  /** The name asked for. */
  readonly runner: string
  /** Every name that would have worked, sorted. */
  readonly known: readonly string[]
  /** The known name closest to `runner` (a typo's fix), if any. */
  readonly suggestion: string | undefined

  constructor(runner: string, known: readonly string[], key: string, what = 'runner type') {
    const sorted = [...known].sort()
    const suggestion = suggestName(runner, sorted)
    const hint = suggestion ? ` (did you mean "${suggestion}"?)` : ''
    super([
      {
        key,
        message: `unknown ${what} "${runner}"${hint}; known: ${sorted.join(', ') || 'none'}`,
      },
    ])
    this.name = 'UnknownRunnerError'
    this.runner = runner
    this.known = sorted
    this.suggestion = suggestion
  }

  static override isInstance(value: unknown): value is UnknownRunnerError {
    return hasMarker(value, unknownMarker)
  }
}

/** Options of `RunnerRegistry.load` and `create`. */
export interface LoadRunnerOptions {
  /**
   * Imports a package the way the caller's module would (`(name) => import(name)` written in the
   * caller's file), so that `@runner/openai` and the other adapters are found among the caller's
   * dependencies. Without it, they are looked for from `@runner/core` and from the working directory.
   */
  importPackage?: (name: string) => Promise<unknown>
  /** The config key named in errors. Default `'type'`. */
  key?: string
}

/** Runner types by name: the built-ins (imported on first use) and the user's own. */
export interface RunnerRegistry {
  /**
   * Adds a runner type: `factory(options)` makes one from its options. A name of a built-in
   * replaces it; a name registered twice is refused (`InvalidOptionsError`).
   */
  register(name: string, factory: RunnerFactory): this
  /** Whether `name` is registered or built in. */
  has(name: string): boolean
  /** Every known name, sorted: the built-ins and the registered ones. */
  names(): string[]
  /** Whether the runners of `name` take a `model` constructor option (the built-in `langchain` and `ai-sdk` do not; registered ones are assumed to). */
  takesModel(name: string): boolean
  /**
   * The factory of `name`, importing a built-in's package on first use. Rejects with
   * `UnknownRunnerError` for a name nobody registered, and with `ConfigError` when a built-in's
   * package cannot be loaded (install it).
   */
  load(name: string, options?: LoadRunnerOptions): Promise<RunnerFactory>
  /** A new runner of type `name` made with `options` (its constructor options): `load`, then the factory. */
  create(name: string, options?: Record<string, unknown>, loadOptions?: LoadRunnerOptions): Promise<AnyRunner>
}

const namePattern = /^[A-Za-z0-9][\w.-]*$/

/**
 * A registry of runner types. The built-in names (`openai`, `claude`, `langchain`, `ai-sdk`) make
 * the adapter of that package with the options given (`new OpenAIRunner(options)`); the package
 * is imported when first used, so install only the adapters you name. `register` adds your own.
 *
 * ```ts
 * const registry = createRegistry().register('tiny', (options) => new TinyRunner(options))
 * const runner = await registry.create('openai', { model: 'gpt-5.4-mini' })
 * ```
 */
export function createRegistry(): RunnerRegistry {
  const own = new Map<string, RunnerFactory>()
  const loaded = new Map<string, RunnerFactory>()

  const registry: RunnerRegistry = {
    register(name, factory) {
      if (typeof name !== 'string' || !namePattern.test(name)) {
        throw new InvalidOptionsError(
          [
            {
              field: 'name',
              message: 'must be letters, digits, "_", "-" or ".", starting with a letter or digit',
            },
          ],
          { subject: 'runner registration' },
        )
      }
      if (typeof factory !== 'function') {
        throw new InvalidOptionsError(
          [{ field: 'factory', message: 'must be a function (options) => runner' }],
          {
            subject: 'runner registration',
          },
        )
      }
      if (own.has(name)) {
        throw new InvalidOptionsError([{ field: 'name', message: `"${name}" is registered already` }], {
          subject: 'runner registration',
        })
      }
      own.set(name, checked(name, factory))
      return registry
    },
    has: (name) => own.has(name) || Object.hasOwn(builtIns, name),
    names: () => [...new Set([...BUILT_IN_RUNNERS, ...own.keys()])].sort(),
    takesModel: (name) => own.has(name) || (builtIns[name]?.takesModel ?? true),
    async load(name, options = {}) {
      const factory = own.get(name) ?? loaded.get(name)
      if (factory) return factory
      const builtIn = Object.hasOwn(builtIns, name) ? builtIns[name] : undefined
      if (!builtIn) throw new UnknownRunnerError(name, registry.names(), options.key ?? 'type')
      let module: Record<string, unknown>
      try {
        module = (await importFromSomewhere(builtIn.packageName, options.importPackage)) as Record<
          string,
          unknown
        >
      } catch (error) {
        throw new ConfigError([
          {
            key: options.key ?? 'type',
            message: `is "${name}", but ${builtIn.packageName} cannot be loaded (${errorMessage(error)}): install it`,
          },
        ])
      }
      const Runner = module[builtIn.exportName]
      if (typeof Runner !== 'function') {
        throw new ConfigError([
          {
            key: options.key ?? 'type',
            message: `is "${name}", but ${builtIn.packageName} has no ${builtIn.exportName} export: update it`,
          },
        ])
      }
      const made = checked(
        name,
        (runnerOptions) => new (Runner as new (options: unknown) => AnyRunner)(runnerOptions),
      )
      loaded.set(name, made)
      return made
    },
    async create(name, options = {}, loadOptions = {}) {
      const factory = await registry.load(name, loadOptions)
      return factory(options)
    },
  }
  return registry
}

/** The factory, refusing what is not a runner (a factory that forgot to `return`, say). */
function checked(name: string, factory: RunnerFactory): RunnerFactory {
  return (options) => {
    const runner: unknown = factory(options)
    if (!isRunner(runner)) {
      throw new InvalidOptionsError(
        [{ field: name, message: 'the factory must return a runner (a BaseAgentRunner subclass)' }],
        { subject: 'runner registration' },
      )
    }
    return runner as AnyRunner
  }
}
