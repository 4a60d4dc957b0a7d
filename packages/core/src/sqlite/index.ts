export {
  SqliteStoreError,
  type SqliteStoreErrorOptions,
  type SqliteStoreErrorReason,
} from '../errors/sqlite-store-error.js'
export { SqliteActivityStore, type SqliteActivityStoreOptions } from './sqlite-store.js'
