import { randomBytes } from 'node:crypto'
import pg from 'pg'

/**
 * The PostgreSQL these tests use, from `DATABASE_URL` (CI sets it). When it is unset, the tests
 * that need a database are skipped, and this says so once, naming the variable.
 */
export const databaseUrl: string | undefined = process.env.DATABASE_URL || undefined

if (!databaseUrl) {
  console.warn(
    '[@runner/postgres] DATABASE_URL is not set: the PostgreSQL tests are skipped. Set it to run them, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test',
  )
}

/** A new schema name, unique across processes and runs (the store creates it on first use). */
export function freshSchema(label = 'test'): string {
  return `runner_${label}_${process.pid}_${randomBytes(4).toString('hex')}`
}

let admin: pg.Pool | undefined

/** A small pool for checks and cleanup that the store does not expose. */
export function adminPool(): pg.Pool {
  if (!databaseUrl) throw new Error('DATABASE_URL is not set')
  admin ??= new pg.Pool({
    connectionString: databaseUrl,
    max: 3,
    application_name: 'runner-postgres-test-admin',
  })
  return admin
}

/** Drops a test schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  await adminPool().query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
}

/** Ends the admin pool (call in afterAll). */
export async function endAdminPool(): Promise<void> {
  const pool = admin
  admin = undefined
  await pool?.end()
}

/** `databaseUrl` with an `application_name`, so a test can find (and kill) the store's connections. */
export function urlWithApplicationName(applicationName: string): string {
  const url = new URL(databaseUrl!)
  url.searchParams.set('application_name', applicationName)
  return url.toString()
}
