import pg from 'pg'
import { afterAll, afterEach } from 'vitest'
import { PostgresActivityStore, type PostgresActivityStoreOptions } from '../index.js'
import { databaseUrl, dropSchema, endAdminPool, freshSchema } from './database.js'

/**
 * Registers the cleanup of a test file and returns `open`: a store on a fresh schema (or the one
 * given), closed and dropped after the test, and `pool`: a pool of its own (ended after the test).
 */
export function useStores(label: string): {
  open: (options?: Partial<PostgresActivityStoreOptions>) => PostgresActivityStore
  pool: (config?: pg.PoolConfig) => pg.Pool
} {
  const stores: PostgresActivityStore[] = []
  const schemas: string[] = []
  const pools: pg.Pool[] = []

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close()
    for (const pool of pools.splice(0)) await pool.end()
    if (databaseUrl) for (const schema of schemas.splice(0)) await dropSchema(schema)
  })
  afterAll(endAdminPool)

  return {
    open(options = {}) {
      const schema = options.schema ?? freshSchema(label)
      if (!schemas.includes(schema)) schemas.push(schema)
      const store = new PostgresActivityStore({
        ...(options.pool ? {} : { connectionString: databaseUrl! }),
        ...options,
        schema,
      })
      stores.push(store)
      return store
    },
    pool(config = {}) {
      const pool = new pg.Pool({ connectionString: databaseUrl!, ...config })
      pool.on('error', () => {})
      pools.push(pool)
      return pool
    },
  }
}

/** The error `promise` rejects with; fails when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected the call to be refused, but it succeeded')
}

/** Polls `check` until it returns true (no fixed sleeps: the machine may be slow). */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
