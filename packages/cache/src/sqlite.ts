/**
 * `@runner/cache/sqlite`: the response cache's store in a SQLite file (`node:sqlite`), in an entry
 * point of its own so that importing `@runner/cache` never loads `node:sqlite`.
 */
export { type SqliteCacheStoreOptions, sqliteCacheStore } from './sqlite-store.js'
