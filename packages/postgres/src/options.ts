import { InvalidOptionsError } from '@runner/core'
import { parseOrThrow } from '@runner/core/adapter'
import { DEFAULT_MAX_RECORD_BYTES } from '@runner/core/store'
import type { Pool, PoolConfig } from 'pg'
import { z } from 'zod'

/** Options of `PostgresActivityStore`. Give exactly one of `pool` and `connectionString`. */
export interface PostgresActivityStoreOptions {
  /**
   * A `pg.Pool` the store borrows connections from. The application owns it: `close()` leaves it
   * open. `watch` holds one of its connections while any watcher is open (size it accordingly).
   */
  pool?: Pool
  /**
   * A PostgreSQL URL (`postgres://user:password@host:5432/database?sslmode=require`). The store
   * creates its own pool from it and ends that pool on `close()`.
   */
  connectionString?: string
  /**
   * Settings of the pool the store creates from `connectionString` (`max`, `ssl`,
   * `idleTimeoutMillis`, `statement_timeout`, `application_name`...). Not allowed with `pool`.
   * Default: pg's defaults (10 connections), `keepAlive: true`, `application_name: 'runner-postgres'`.
   */
  poolConfig?: Omit<PoolConfig, 'connectionString'>
  /**
   * The PostgreSQL schema holding the store's tables, created on first use. Stores on different
   * schemas are fully separate (tests use a fresh schema each). Letters, digits and `_`, starting
   * with a letter or `_`, at most 63 characters. Default `'runner'`.
   */
  schema?: string
  /**
   * The `LISTEN`/`NOTIFY` channel that carries change notifications. Every process sharing the
   * schema must use the same one. At most 63 bytes. Default `runner_activity_<schema>`.
   */
  notifyChannel?: string
  /**
   * Whether the store creates or upgrades its schema on first use. Set `false` when the runtime
   * role may not create tables: the store then only checks the version and fails clearly if the
   * schema is missing or old. Default `true`.
   */
  migrate?: boolean
  /**
   * The largest checkpoint state, journaled tool call or document value the store accepts, in bytes
   * of UTF-8 JSON. Larger ones are refused before anything is written (`CheckpointTooLargeError`
   * for checkpoints and journal entries, `InvalidOptionsError` for documents). At most 512 MiB
   * (PostgreSQL keeps up to 1 GB in one value, and every value travels in one message). Default
   * 16 MiB (`DEFAULT_MAX_RECORD_BYTES`).
   */
  maxRecordBytes?: number
  /**
   * Receives errors that no caller can receive: the `LISTEN` connection lost or failing to
   * reconnect (the store keeps retrying), a failed `watch` delivery (retried), an idle connection
   * of the store's own pool dropped by the server. Default: ignored.
   */
  onError?: (error: Error) => void
}

/** What the constructor keeps after validation. */
export interface ResolvedOptions {
  pool: Pool | undefined
  connectionString: string | undefined
  poolConfig: Omit<PoolConfig, 'connectionString'>
  schema: string
  notifyChannel: string
  migrate: boolean
  maxRecordBytes: number
  onError: (error: Error) => void
}

/** The highest `maxRecordBytes`: 512 MiB. */
export const MAX_RECORD_BYTES_LIMIT = 512 * 1024 * 1024

/** Longest identifier PostgreSQL keeps (NAMEDATALEN - 1), in bytes. */
const MAX_IDENTIFIER_BYTES = 63

const optionsSchema = z.strictObject({
  pool: z
    .custom<Pool>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        typeof (value as Pool).connect === 'function' &&
        typeof (value as Pool).query === 'function',
      { error: 'must be a pg.Pool' },
    )
    .optional(),
  connectionString: z
    .string({ error: 'must be a postgres:// or postgresql:// URL' })
    .min(1, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  poolConfig: z
    .record(z.string(), z.unknown(), { error: 'must be an object of pg.Pool settings' })
    .optional(),
  schema: z
    .string({ error: 'must be a string' })
    .regex(
      /^[A-Za-z_][A-Za-z0-9_]*$/,
      'must be letters, digits and _, starting with a letter or _ (such as "runner")',
    )
    .max(MAX_IDENTIFIER_BYTES, `must be at most ${MAX_IDENTIFIER_BYTES} characters`)
    .optional(),
  notifyChannel: z
    .string({ error: 'must be a string' })
    .min(1, 'must be a non-empty string')
    .refine((value) => Buffer.byteLength(value, 'utf8') <= MAX_IDENTIFIER_BYTES, {
      error: `must be at most ${MAX_IDENTIFIER_BYTES} bytes (PostgreSQL's limit for channel names)`,
    })
    .optional(),
  migrate: z.boolean({ error: 'must be true or false' }).optional(),
  maxRecordBytes: z
    .number({ error: 'must be a number of bytes' })
    .int('must be an integer number of bytes')
    .min(1, 'must be at least 1 byte')
    .max(MAX_RECORD_BYTES_LIMIT, `must be at most ${MAX_RECORD_BYTES_LIMIT} bytes (512 MiB)`)
    .optional(),
  onError: z
    .custom<(error: Error) => void>((value) => typeof value === 'function', {
      error: 'must be a function',
    })
    .optional(),
})

const SUBJECT = 'PostgresActivityStore options'

/** Validates the constructor's options; throws `InvalidOptionsError` naming every bad field. */
export function resolveOptions(options: string | PostgresActivityStoreOptions): ResolvedOptions {
  const input = typeof options === 'string' ? { connectionString: options } : options
  const valid = parseOrThrow(optionsSchema, input, SUBJECT)
  if ((valid.pool === undefined) === (valid.connectionString === undefined)) {
    throw new InvalidOptionsError(
      [
        {
          field: valid.pool === undefined ? 'connectionString' : 'pool',
          message:
            valid.pool === undefined
              ? 'give either pool (a pg.Pool) or connectionString (a postgres:// URL)'
              : 'give either pool or connectionString, not both',
        },
      ],
      { subject: SUBJECT },
    )
  }
  if (valid.pool !== undefined && valid.poolConfig !== undefined) {
    throw new InvalidOptionsError(
      [
        {
          field: 'poolConfig',
          message: 'applies only to the pool made from connectionString; configure your pool',
        },
      ],
      { subject: SUBJECT },
    )
  }
  const schema = valid.schema ?? 'runner'
  const notifyChannel = valid.notifyChannel ?? `runner_activity_${schema}`
  if (Buffer.byteLength(notifyChannel, 'utf8') > MAX_IDENTIFIER_BYTES) {
    throw new InvalidOptionsError(
      [
        {
          field: 'notifyChannel',
          message: `the default channel "${notifyChannel}" is longer than ${MAX_IDENTIFIER_BYTES} bytes; pass a shorter notifyChannel or schema`,
        },
      ],
      { subject: SUBJECT },
    )
  }
  return {
    pool: valid.pool,
    connectionString: valid.connectionString,
    poolConfig: (valid.poolConfig ?? {}) as Omit<PoolConfig, 'connectionString'>,
    schema,
    notifyChannel,
    migrate: valid.migrate ?? true,
    maxRecordBytes: valid.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
    onError: valid.onError ?? (() => {}),
  }
}
