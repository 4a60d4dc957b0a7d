import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { type ActivityStore, type ActivityTracker, createActivityTracker } from '@runner/core'
import { PostgresActivityStore } from '@runner/postgres'
import { databaseUrl } from './services.js'

/** `pg`, borrowed from @runner/postgres (this package does not depend on it): only to drop test schemas. */
interface PgPool {
  query(sql: string): Promise<unknown>
  end(): Promise<void>
}
const pg = createRequire(import.meta.resolve('@runner/postgres'))('pg') as {
  Pool: new (options: { connectionString: string; max: number }) => PgPool
}

/** A PostgreSQL activity store of its own (a fresh schema) that child processes can share. */
export interface SharedStore {
  store: ActivityStore
  activity: ActivityTracker
  /** The schema name. */
  schema: string
  /** `RUNNER_STORE_URL` for a `runner-worker` child: the database URL with `?schema=`. */
  storeUrl: string
  /** Closes the store and drops its schema. */
  cleanup(): Promise<void>
}

export function sharedStore(label: string): SharedStore {
  const url = databaseUrl as string
  const schema = `runner_bullmq_${label}_${randomBytes(4).toString('hex')}`
  const store = new PostgresActivityStore({ connectionString: url, schema })
  const storeUrl = new URL(url)
  storeUrl.searchParams.set('schema', schema)
  return {
    store,
    activity: createActivityTracker({ store }),
    schema,
    storeUrl: storeUrl.toString(),
    async cleanup() {
      await store.close()
      const admin = new pg.Pool({ connectionString: url, max: 1 })
      try {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      } finally {
        await admin.end()
      }
    },
  }
}
