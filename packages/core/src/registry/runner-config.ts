import { readFile } from 'node:fs/promises'
import { extname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { z } from 'zod'
import { ConfigError, type ConfigIssue } from '../errors/config-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import type { RunnerOptions } from '../runner/types.js'
import { withFallback } from '../runner/with-fallback.js'
import { errorMessage } from '../util/error-message.js'
import { importFromSomewhere } from '../util/import-package.js'
import { type InterpolationEnv, interpolateEnv, keyPath } from './interpolate-env.js'
import {
  createRouter,
  type RouteRule,
  type RouterRunner,
  type RouteTarget,
  type RunnerSource,
} from './router.js'
import {
  type AnyRunner,
  createRegistry,
  type RunnerFactory,
  type RunnerRegistry,
  suggestName,
  UnknownRunnerError,
} from './runner-registry.js'

/**
 * One named runner of a config: its `type` (a built-in name or one you registered), the runners to
 * fall back to, and the options its constructor takes (`model`, `apiKey`, `baseURL`...), beside them.
 */
export interface RunnerEntry {
  /** `openai`, `claude`, `langchain`, `ai-sdk`, or a name given to `registry.register`. */
  type: string
  /** Names of other runners of the config, tried in order when this one fails (`withFallback`). Default: none. */
  fallback?: string[]
  /** The constructor's options, as `new OpenAIRunner({ ... })` takes them. `name` defaults to the entry's name. */
  [option: string]: unknown
}

/** A runner config: named runners and, in a code config, the routing rules. */
export interface RunnerFileConfig<TInput = unknown> {
  /** The runners, by the name routes and fallbacks use (letters, digits, `_`, `-`, `.`). At least one. */
  runners: Record<string, RunnerEntry>
  /**
   * Routing rules, tried in order, of the router `createRunners` makes (`runners.router`). Functions:
   * only a code config (`runner.config.ts`/`.js`/`.mjs`) has them. Default: none.
   */
  routes?: ReadonlyArray<RouteRule<TInput>>
  /** The route when no rule picks one: a runner's name or `{ runner, model }`. Default: the first runner. */
  default?: RouteTarget
}

/** The config as it is written, typed: `export default defineRunnerConfig({ ... })` in `runner.config.ts`. */
export function defineRunnerConfig<TInput = unknown>(
  config: RunnerFileConfig<TInput>,
): RunnerFileConfig<TInput> {
  return config
}

/** Options of `loadRunnerConfig`. */
export interface LoadRunnerConfigOptions {
  /** Where `${NAME}` references of a JSON or YAML file are read. Default `process.env`. */
  env?: InterpolationEnv
  /** Imports the optional `yaml` package the way the caller's module would (`(name) => import(name)`). */
  importPackage?: (name: string) => Promise<unknown>
}

const TOP_KEYS = ['runners', 'routes', 'default'] as const
const ENTRY_KEYS = ['type', 'fallback'] as const
const namePattern = /^[A-Za-z0-9][\w.-]*$/

const targetSchema = z.union(
  [z.string().min(1), z.strictObject({ runner: z.string().min(1), model: z.string().min(1).optional() })],
  { error: 'must be a runner name or { runner, model? }' },
)

const entrySchema = z
  .object(
    {
      type: z.string({ error: 'is required: a runner type such as "openai"' }).min(1, 'must not be empty'),
      fallback: z
        .array(z.string().min(1, 'must be a runner name'), { error: 'must be a list of runner names' })
        .optional(),
    },
    { error: 'must be an object { type, fallback?, ...options }' },
  )
  .catchall(z.unknown())

const configSchema = z.strictObject(
  {
    runners: z
      .record(z.string().regex(namePattern, 'must be letters, digits, "_", "-" or "."'), entrySchema, {
        error: 'is required: an object of named runners { name: { type, ...options } }',
      })
      .refine((runners) => Object.keys(runners).length > 0, 'must name at least one runner'),
    routes: z
      .array(
        z.custom<RouteRule>(
          (rule) => typeof rule === 'function',
          'must be a function (input, metadata) => target',
        ),
        {
          error: 'must be a list of functions (input, metadata) => target',
        },
      )
      .optional(),
    default: targetSchema.optional(),
  },
  { error: 'must be an object { runners, routes?, default? }' },
)

/** The config's issues, each naming its key path, unknown keys with a suggestion. */
function issuesOf(error: z.ZodError): ConfigIssue[] {
  return error.issues.flatMap((issue): ConfigIssue[] => {
    if (issue.code === 'unrecognized_keys') {
      const known = issue.path.length === 0 ? TOP_KEYS : ['runner', 'model']
      return issue.keys.map((key) => {
        const suggestion = suggestName(key, known)
        return {
          key: keyPath([...issue.path, key]),
          message: `is not a config key${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; known: ${known.join(', ')}`,
        }
      })
    }
    if (issue.code === 'invalid_key')
      return [{ key: keyPath(issue.path), message: 'is not a valid runner name' }]
    return [{ key: keyPath(issue.path), message: issue.message }]
  })
}

/** Entries that lack `type` or `fallback` but have a key close to one: a typo, named as such. */
function typoIssues(value: unknown): ConfigIssue[] {
  const runners = (value as { runners?: unknown } | null)?.runners
  if (typeof runners !== 'object' || runners === null) return []
  const issues: ConfigIssue[] = []
  for (const [name, entry] of Object.entries(runners)) {
    if (typeof entry !== 'object' || entry === null) continue
    for (const key of Object.keys(entry)) {
      if ((ENTRY_KEYS as readonly string[]).includes(key)) continue
      const meant = suggestName(key, ENTRY_KEYS)
      if (meant && !(meant in entry)) {
        issues.push({
          key: `runners.${name}.${key}`,
          message: `is not a config key (did you mean "${meant}"?)`,
        })
      }
    }
  }
  return issues
}

/**
 * Checks a config (from a file or written in code): unknown keys (with the close known one), a
 * runner without `type`, a bad `default`. Throws `ConfigError` listing every bad key path.
 */
export function parseRunnerConfig<TInput = unknown>(value: unknown): RunnerFileConfig<TInput> {
  const result = configSchema.safeParse(value)
  const issues = [...typoIssues(value), ...(result.success ? [] : issuesOf(result.error))]
  if (issues.length > 0 || !result.success) throw new ConfigError(issues)
  return result.data as RunnerFileConfig<TInput>
}

/**
 * Reads a runner config file: `runner.config.ts`, `.js`, `.mjs` (its default export, made with
 * `defineRunnerConfig`), `.json`, or `.yaml`/`.yml` (with the `yaml` package installed). In JSON
 * and YAML, `${NAME}` and `${NAME:-default}` in string values read `env`. Rejects with
 * `ConfigError` naming each bad key path and each unset variable (never a value).
 */
export async function loadRunnerConfig<TInput = unknown>(
  path: string,
  options: LoadRunnerConfigOptions = {},
): Promise<RunnerFileConfig<TInput>> {
  const file = resolve(path)
  const extension = extname(file).toLowerCase()
  if (['.ts', '.mts', '.js', '.mjs'].includes(extension)) {
    let module: { default?: unknown }
    try {
      module = (await import(pathToFileURL(file).href)) as { default?: unknown }
    } catch (error) {
      throw new ConfigError([{ key: path, message: `cannot be imported: ${errorMessage(error)}` }], {
        cause: error,
      })
    }
    if (module.default === undefined) {
      throw new ConfigError([
        { key: path, message: 'has no default export: export default defineRunnerConfig({ ... })' },
      ])
    }
    return parseRunnerConfig<TInput>(module.default)
  }
  if (!['.json', '.yaml', '.yml'].includes(extension)) {
    throw new ConfigError([{ key: path, message: 'must end in .ts, .mts, .js, .mjs, .json, .yaml or .yml' }])
  }
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new ConfigError([{ key: path, message: `cannot be read: ${errorMessage(error)}` }], {
      cause: error,
    })
  }
  const raw =
    extension === '.json' ? parseJson(text, path) : await parseYaml(text, path, options.importPackage)
  const issues: ConfigIssue[] = []
  const interpolated = interpolateEnv(raw, options.env ?? process.env, issues)
  if (issues.length > 0) throw new ConfigError(issues)
  return parseRunnerConfig<TInput>(interpolated)
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new ConfigError([{ key: path, message: `is not valid JSON: ${errorMessage(error)}` }])
  }
}

interface YamlModule {
  parse(text: string, options?: Record<string, unknown>): unknown
}

async function parseYaml(
  text: string,
  path: string,
  importPackage?: (name: string) => Promise<unknown>,
): Promise<unknown> {
  let yaml: YamlModule
  try {
    yaml = (await importFromSomewhere('yaml', importPackage)) as YamlModule
  } catch (error) {
    throw new ConfigError([
      {
        key: path,
        message: `is YAML, but the yaml package cannot be loaded (${errorMessage(error)}): install it`,
      },
    ])
  }
  try {
    // YAML 1.2 core schema: `no` stays a string, `0x1F` a number; aliases are capped against bombs.
    return yaml.parse(text, { schema: 'core', prettyErrors: true, maxAliasCount: 100 })
  } catch (error) {
    throw new ConfigError([{ key: path, message: `is not valid YAML: ${errorMessage(error)}` }])
  }
}

/** Options of `createRunners`. */
export interface CreateRunnersOptions {
  /** The runner types: the built-ins and your own. Default: `createRegistry()` (the built-ins only). */
  registry?: RunnerRegistry
  /**
   * Options every runner gets under its own: one `activity` tracker for all of them, say, so that
   * every run lands in one store whatever runner ran it. Default: none.
   */
  defaults?: RunnerOptions<unknown> & Record<string, unknown>
  /** Imports an adapter package the way the caller's module would (`(name) => import(name)`). */
  importPackage?: (name: string) => Promise<unknown>
}

const runnersMarker = Symbol.for('runner.ConfiguredRunners')

/** The runners of a config, made: by name, with a model of the route's choosing, and routed. */
export interface ConfiguredRunners<TInput = unknown> extends RunnerSource {
  /** Names of the config's runners, sorted. */
  names(): string[]
  /**
   * The runner `name` (with its `fallback` chain, if it has one). With `model`, a runner of that
   * config entry made for the model (kept for the next call). Throws `UnknownRunnerError` for a
   * name the config lacks; `InvalidOptionsError` for a model asked of a type that takes none.
   */
  get(name: string, options?: { model?: string }): AnyRunner
  /** The config's router: its `routes`, then its `default` (or its first runner). */
  readonly router: RouterRunner<unknown, TInput, unknown>
}

/**
 * Makes the runners a config names: loads each type from the registry (importing the built-in
 * adapters it uses), checks that every `type` and `fallback` name exists and that fallbacks form
 * no cycle, then creates each runner with its options (`name` defaulting to the entry's name).
 * Rejects with `ConfigError` (`UnknownRunnerError` for an unknown name, with the known ones and a
 * suggestion); a runner's own options are checked by its constructor (`InvalidOptionsError`).
 */
export async function createRunners<TInput = unknown>(
  config: RunnerFileConfig<TInput>,
  options: CreateRunnersOptions = {},
): Promise<ConfiguredRunners<TInput>> {
  const parsed = parseRunnerConfig<TInput>(config)
  const registry = options.registry ?? createRegistry()
  const entries = parsed.runners
  const names = Object.keys(entries)

  const factories = new Map<string, RunnerFactory>()
  const issues: ConfigIssue[] = []
  for (const [name, entry] of Object.entries(entries)) {
    const key = `runners.${name}.type`
    if (!registry.has(entry.type)) {
      issues.push(...new UnknownRunnerError(entry.type, registry.names(), key).issues)
      continue
    }
    if (!factories.has(entry.type)) {
      factories.set(entry.type, await registry.load(entry.type, { key, ...pick(options) }))
    }
    for (const [index, next] of (entry.fallback ?? []).entries()) {
      if (!Object.hasOwn(entries, next)) {
        issues.push(
          ...new UnknownRunnerError(next, names, `runners.${name}.fallback.${index}`, 'runner').issues,
        )
      }
    }
  }
  if (issues.length === 0) issues.push(...cycleIssues(entries))
  if (issues.length > 0) throw new ConfigError(issues)

  const made = new Map<string, AnyRunner>()
  const make = (name: string, model: string | undefined): AnyRunner => {
    const cacheKey = model === undefined ? name : `${name}\u0000${model}`
    const cached = made.get(cacheKey)
    if (cached) return cached
    const { type, fallback = [], ...own } = entries[name]!
    const runnerOptions = { name, ...options.defaults, ...own, ...(model === undefined ? {} : { model }) }
    const primary = factories.get(type)!(runnerOptions)
    const runner =
      fallback.length > 0 ? withFallback(primary, ...fallback.map((next) => make(next, undefined))) : primary
    made.set(cacheKey, runner)
    return runner
  }

  const runners: ConfiguredRunners<TInput> & { [runnersMarker]: true } = {
    [runnersMarker]: true,
    names: () => [...names].sort(),
    get(name, getOptions = {}) {
      if (!Object.hasOwn(entries, name)) throw new UnknownRunnerError(name, names, 'route', 'runner')
      const model = getOptions.model
      if (model !== undefined && !registry.takesModel(entries[name]!.type)) {
        throw new InvalidOptionsError(
          [
            {
              field: 'route.model',
              message: `runner "${name}" (${entries[name]!.type}) takes its model from the agent: a route cannot choose it`,
            },
          ],
          { subject: 'route' },
        )
      }
      return make(name, model)
    },
    get router() {
      return router
    },
  }
  // Every runner is made now, so that a bad option fails here rather than in the first run.
  for (const name of names) make(name, undefined)
  const router = createRouter<unknown, TInput, unknown>({
    runners,
    routes: parsed.routes ?? [],
    default: parsed.default ?? names[0]!,
  })
  return runners
}

function pick(options: CreateRunnersOptions): { importPackage?: (name: string) => Promise<unknown> } {
  return options.importPackage ? { importPackage: options.importPackage } : {}
}

/** A runner that falls back, through other runners, to itself. */
function cycleIssues(entries: Record<string, RunnerEntry>): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === 'done') return
    if (state.get(name) === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(name)), name]
      issues.push({ key: `runners.${trail.at(-1)}.fallback`, message: `makes a cycle: ${cycle.join(' > ')}` })
      return
    }
    state.set(name, 'visiting')
    for (const next of entries[name]?.fallback ?? []) visit(next, [...trail, name])
    state.set(name, 'done')
  }
  for (const name of Object.keys(entries)) visit(name, [])
  return issues
}
