export { SqliteActivityStore, type SqliteActivityStoreOptions } from './sqlite-store.js'
