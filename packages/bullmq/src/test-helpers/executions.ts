import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { databaseUrl } from './services.js'

/** `pg`, borrowed from @runner/postgres (this package does not depend on it). */
interface PgPool {
  query<T>(sql: string, values?: unknown[]): Promise<{ rows: T[] }>
  end(): Promise<void>
}
const pg = createRequire(import.meta.resolve('@runner/postgres'))('pg') as {
  Pool: new (options: { connectionString: string; max: number }) => PgPool
}

/** One execution of a side-effecting tool, as the chaos agent's tools record it. */
export interface ExecutionRow {
  /** Insertion order. */
  id: number
  /** The call's idempotency key (`<agentId>:<toolCallId>`). */
  key: string
  /** A unique id of this execution, which the tool also returns (so the journal names it). */
  execution: string
  /** The worker process that ran it. */
  pid: number
}

/**
 * A table of tool executions in a schema of its own (`<schema>.executions`), which worker
 * processes insert into (see the `agent-run` task): the durable count of side effects.
 */
export interface ExecutionsTable {
  url: string
  schema: string
  /** Every execution, in insertion order. */
  rows(): Promise<ExecutionRow[]>
  /** The keys executed more than once, with their count (`GROUP BY key HAVING count(*) > 1`). */
  duplicates(): Promise<Array<{ key: string; count: number }>>
  /** Drops the schema. */
  cleanup(): Promise<void>
}

export async function executionsTable(label: string): Promise<ExecutionsTable> {
  const url = databaseUrl as string
  const schema = `runner_bullmq_${label}_${randomBytes(4).toString('hex')}`
  const pool = new pg.Pool({ connectionString: url, max: 2 })
  await pool.query(`CREATE SCHEMA "${schema}"`)
  await pool.query(
    `CREATE TABLE "${schema}".executions (id bigserial PRIMARY KEY, key text NOT NULL, execution uuid NOT NULL UNIQUE, pid integer NOT NULL)`,
  )
  return {
    url,
    schema,
    async rows() {
      const result = await pool.query<{ id: string; key: string; execution: string; pid: number }>(
        `SELECT id, key, execution, pid FROM "${schema}".executions ORDER BY id`,
      )
      return result.rows.map((row) => ({ ...row, id: Number(row.id) }))
    },
    async duplicates() {
      const result = await pool.query<{ key: string; count: string }>(
        `SELECT key, count(*) AS count FROM "${schema}".executions GROUP BY key HAVING count(*) > 1 ORDER BY key`,
      )
      return result.rows.map((row) => ({ key: row.key, count: Number(row.count) }))
    },
    async cleanup() {
      try {
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      } finally {
        await pool.end()
      }
    },
  }
}
