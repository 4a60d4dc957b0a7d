/** Double-quotes an SQL identifier (a schema name, a channel), doubling inner quotes. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/**
 * A `timestamptz` expression as the ISO 8601 text every store returns (`2025-01-01T00:00:00.000Z`).
 * Formatted in SQL, so what the store reads never depends on pg's type parsers (which an
 * application may have replaced for its own pool).
 */
export function isoText(expression: string): string {
  return `to_char(${expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
}

/** The database clock, to the millisecond (the precision of the ISO times the store hands out). */
export const NOW_MS = `date_trunc('milliseconds', clock_timestamp())`

/** True for unfinished rows (queued, running, waiting): the first group of the list order. */
export const ACTIVE_SQL = `(status IN ('queued', 'running', 'waiting'))`

/** The list order's first key of a status, as `ACTIVE_KEY_SQL` computes it. */
export function activeKeyOf(status: string): number {
  return status === 'queued' || status === 'running' || status === 'waiting' ? 1 : 0
}

/** The list order's first key, as an integer (1 active, 0 final): the same text as its index. */
export const ACTIVE_KEY_SQL = `(${ACTIVE_SQL}::int)`

/** Every status, as the `status` columns accept them (from schema version 4). */
export const STATUS_CHECK = `CHECK (status IN ('queued', 'running', 'waiting', 'complete', 'error', 'canceled'))`

/** The database clock in epoch milliseconds, one value per statement (the job queue's clock). */
export const STATEMENT_MS = `(extract(epoch FROM statement_timestamp()) * 1000)`

/** Class ids of the two-key advisory locks the store takes; the second key is the schema's hash. */
export const LOCK_CLASS_MIGRATION = 0x52554e01
export const LOCK_CLASS_LOG = 0x52554e02
/** The lock of the job queue's fair claims (jobs with a concurrency key): one at a time per schema. */
export const LOCK_CLASS_FAIR_CLAIM = 0x52554e03

/** FNV-1a over the UTF-8 bytes of `text`, as a signed 32-bit integer (an advisory lock key). */
export function lockKey(text: string): number {
  let hash = 0x811c9dc5
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte
    hash = Math.imul(hash, 0x01000193)
  }
  return hash | 0
}

/** The qualified names and keys of one store's schema. */
export interface SchemaNames {
  /** The schema name, unquoted. */
  schema: string
  activities: string
  log: string
  trajectories: string
  /** One row per activity and metadata key with a primitive value: the indexed filters. */
  metadata: string
  /** The durable record of each run: checkpoint, pending requests, result. */
  runs: string
  /** Completed tool calls of each run. */
  journal: string
  /** The durable job queue. */
  jobs: string
  /** When each concurrency key of the job queue was last served (fair claims' round-robin). */
  jobGroups: string
  /** The document table. */
  documents: string
  versions: string
  /** The `NOTIFY` channel, unquoted (as `pg_notify` takes it). */
  channel: string
  /** Second key of the advisory locks taken for this schema. */
  lockKey: number
}

export function schemaNames(schema: string, channel: string): SchemaNames {
  const quoted = quoteIdentifier(schema)
  return {
    schema,
    activities: `${quoted}.activities`,
    log: `${quoted}.activity_log`,
    trajectories: `${quoted}.trajectories`,
    metadata: `${quoted}.activity_metadata`,
    runs: `${quoted}.runs`,
    journal: `${quoted}.run_journal`,
    jobs: `${quoted}.jobs`,
    jobGroups: `${quoted}.job_groups`,
    documents: `${quoted}.documents`,
    versions: `${quoted}.schema_version`,
    channel,
    lockKey: lockKey(schema),
  }
}
