/**
 * `@runner/core/registry`: runners by name and from a config file. A registry of runner types (the
 * built-in adapters, imported on first use, and your own), config files (`runner.config.ts`, JSON
 * or YAML with `${ENV}` interpolation) and a router that picks the runner and model of each run.
 */
export type { InterpolationEnv } from './registry/interpolate-env.js'
export {
  createRouter,
  type RouteRule,
  type RouterOptions,
  RouterRunner,
  type RouteTarget,
  type RunnerSource,
} from './registry/router.js'
export {
  type ConfiguredRunners,
  type CreateRunnersOptions,
  createRunners,
  defineRunnerConfig,
  type LoadRunnerConfigOptions,
  loadRunnerConfig,
  parseRunnerConfig,
  type RunnerEntry,
  type RunnerFileConfig,
} from './registry/runner-config.js'
export {
  type AnyRunner,
  BUILT_IN_RUNNERS,
  createRegistry,
  type LoadRunnerOptions,
  type RunnerFactory,
  type RunnerRegistry,
  UnknownRunnerError,
} from './registry/runner-registry.js'
