export {
  type ConfigEnv,
  loadConfig,
  type RetryConfig,
  type RunnerConfig,
  type StoreConfig,
} from './load-config.js'
export { type OpenStoreOptions, openStore } from './open-store.js'
