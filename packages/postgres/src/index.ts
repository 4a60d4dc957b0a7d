export type { PostgresActivityStoreOptions } from './options.js'
export { PostgresActivityStore } from './postgres-activity-store.js'
export { VERSION } from './version.js'
