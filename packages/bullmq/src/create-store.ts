import type { ActivityStore, StoreConfig } from '@runner/core'

/** The package that provides `PostgresActivityStore`, loaded only for a postgres:// store. */
const postgresPackage = '@runner/postgres'

interface PostgresModule {
  PostgresActivityStore: new (options: { connectionString: string; schema?: string }) => ActivityStore
}

/**
 * The shared activity store named by `RUNNER_STORE_URL`: a `PostgresActivityStore` for a
 * postgres:// URL (its `?schema=` parameter, if any, names the schema), a `SqliteActivityStore`
 * for sqlite:<path>. A worker refuses the memory store: its activities would be invisible to every
 * other process (the API could never read them).
 */
export async function createStore(config: StoreConfig): Promise<ActivityStore> {
  switch (config.kind) {
    case 'postgres': {
      let module: PostgresModule
      try {
        module = (await import(postgresPackage)) as PostgresModule
      } catch (error) {
        throw new Error(
          `RUNNER_STORE_URL is a PostgreSQL URL, but ${postgresPackage} cannot be loaded (${error instanceof Error ? error.message : String(error)}): install it next to @runner/bullmq.`,
        )
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
      const { SqliteActivityStore } = await import('@runner/core/sqlite')
      return new SqliteActivityStore({ path: config.path })
    }
    case 'memory':
      throw new Error(
        'RUNNER_STORE_URL is not set (or is memory:): a worker needs the activity store it shares with the processes that enqueue, such as postgres://user@db/runner (with @runner/postgres) or sqlite:/path/runner.db (processes of one machine).',
      )
  }
}
