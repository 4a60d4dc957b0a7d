import type { ActivityStore } from '../activity/types.js'
import { ConfigError } from '../errors/config-error.js'
import { errorMessage } from '../util/error-message.js'
import { importFromSomewhere } from '../util/import-package.js'
import type { StoreConfig } from './load-config.js'

/** The package that provides `PostgresActivityStore`, loaded only for a postgres:// store. */
const postgresPackage = '@runner/postgres'

interface PostgresModule {
  PostgresActivityStore: new (options: { connectionString: string; schema?: string }) => ActivityStore
}

/** Options of `openStore`. */
export interface OpenStoreOptions {
  /**
   * Who needs the store, for the error a `memory:` store gets (`'a worker'`, `'the dashboard'`):
   * given, a memory store is refused, since another process's memory cannot be shared. Omitted, a
   * new `MemoryActivityStore` is returned.
   */
  sharedBy?: string
  /**
   * Imports a package the way the caller's module would (`(name) => import(name)` written in the
   * caller's file), so that `@runner/postgres` is found among the caller's dependencies. Without
   * it, the package is looked for from `@runner/core` and from the working directory.
   */
  importPackage?: (name: string) => Promise<unknown>
}

/**
 * The activity store a `StoreConfig` names (`loadConfig().store`, from `RUNNER_STORE_URL`): a
 * `PostgresActivityStore` for a postgres:// URL (loaded from `@runner/postgres`, which must be
 * installed; its `?schema=` parameter names the schema), a `SqliteActivityStore` for
 * `sqlite:<path>`, a `MemoryActivityStore` for `memory:` unless `sharedBy` refuses it.
 */
export async function openStore(config: StoreConfig, options: OpenStoreOptions = {}): Promise<ActivityStore> {
  switch (config.kind) {
    case 'postgres': {
      let module: PostgresModule
      try {
        module = (await importFromSomewhere(postgresPackage, options.importPackage)) as PostgresModule
      } catch (error) {
        throw new ConfigError([
          {
            key: 'RUNNER_STORE_URL',
            message: `is a PostgreSQL URL, but ${postgresPackage} cannot be loaded (${errorMessage(error)}): install it`,
          },
        ])
      }
      // `?schema=name` picks the store's PostgreSQL schema (default "runner"); pg never sees it.
      const url = new URL(config.url)
      const schema = url.searchParams.get('schema')
      url.searchParams.delete('schema')
      return new module.PostgresActivityStore({
        connectionString: url.toString(),
        ...(schema ? { schema } : {}),
      })
    }
    case 'sqlite': {
      const { SqliteActivityStore } = await import('../sqlite/sqlite-store.js')
      return new SqliteActivityStore({ path: config.path })
    }
    case 'memory': {
      if (options.sharedBy !== undefined) {
        throw new ConfigError([
          {
            key: 'RUNNER_STORE_URL',
            message: `is not set (or is memory:): ${options.sharedBy} needs the activity store the other processes write to, such as postgres://user@db/runner (with @runner/postgres) or sqlite:/path/runner.db (processes of one machine)`,
          },
        ])
      }
      const { MemoryActivityStore } = await import('../activity/memory-store.js')
      return new MemoryActivityStore()
    }
  }
}
