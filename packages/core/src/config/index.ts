export {
  type ConfigEnv,
  loadConfig,
  type RetryConfig,
  type RunnerConfig,
  type StoreConfig,
} from './load-config.js'
