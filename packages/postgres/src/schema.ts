import { RunnerError } from '@runner/core'
import type { Pool, PoolClient } from 'pg'
import {
  ACTIVE_KEY_SQL,
  LOCK_CLASS_MIGRATION,
  quoteIdentifier,
  type SchemaNames,
  STATUS_CHECK,
} from './sql.js'

/** The schema version this code creates and reads. */
export const SCHEMA_VERSION = 6

/** The status check of versions 1 to 3, as the first step wrote it (the step never changes). */
const V1_STATUS_CHECK = `CHECK (status IN ('queued', 'running', 'complete', 'error', 'canceled'))`

/** The list order's first key of versions 1 to 3 (before `waiting`), as the first step wrote it. */
const V1_ACTIVE_KEY_SQL = `((status IN ('queued', 'running'))::int)`

/**
 * `migrations[n]` moves a schema from version `n` to `n + 1`. Each runs once, in the transaction
 * that records it in `schema_version`, under an advisory lock, so processes starting together
 * cannot both run it. Append new steps; never edit a released one.
 */
const migrations: ReadonlyArray<(names: SchemaNames) => string> = [
  (names) => `
  CREATE TABLE ${names.activities} (
    seq bigserial PRIMARY KEY,
    agent_id text NOT NULL UNIQUE,
    agent_type text NOT NULL,
    status text NOT NULL ${V1_STATUS_CHECK},
    message text NOT NULL,
    percentage smallint NOT NULL CHECK (percentage BETWEEN 0 AND 100),
    metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    started_at timestamptz,
    finished_at timestamptz
  );
  CREATE INDEX activities_status_seq ON ${names.activities} (status, seq);
  CREATE INDEX activities_list_order ON ${names.activities} (${V1_ACTIVE_KEY_SQL}, seq);
  CREATE INDEX activities_metadata ON ${names.activities} USING gin (metadata jsonb_path_ops);
  CREATE TABLE ${names.log} (
    id bigserial PRIMARY KEY,
    agent_id text NOT NULL REFERENCES ${names.activities} (agent_id) ON DELETE CASCADE,
    status text NOT NULL ${V1_STATUS_CHECK},
    message text NOT NULL,
    percentage smallint CHECK (percentage BETWEEN 0 AND 100),
    activity_percentage smallint NOT NULL CHECK (activity_percentage BETWEEN 0 AND 100),
    at timestamptz NOT NULL
  );
  CREATE INDEX activity_log_agent_id ON ${names.log} (agent_id, id);
  CREATE TABLE ${names.trajectories} (
    agent_id text PRIMARY KEY REFERENCES ${names.activities} (agent_id) ON DELETE CASCADE,
    trajectory jsonb NOT NULL,
    saved_at timestamptz NOT NULL DEFAULT now()
  );
  COMMENT ON TABLE ${names.activities} IS 'Current state of each @runner activity (one row per agentId).';
  COMMENT ON TABLE ${names.log} IS 'Append-only log of @runner activity changes; id order is commit order.';
  COMMENT ON TABLE ${names.trajectories} IS 'Trajectory of each @runner run (JSON).';
  `,
  // 1 -> 2: the id of each activity's latest log row, so that an append which waited for the row
  // lock can tell whether the log it read is complete. Processes still on version 1 keep working
  // (the column has a default); their appends only make later ones re-read the log.
  (names) => `
  ALTER TABLE ${names.activities} ADD COLUMN last_log_id bigint NOT NULL DEFAULT 0;
  UPDATE ${names.activities} a
  SET last_log_id = coalesce((SELECT max(l.id) FROM ${names.log} l WHERE l.agent_id = a.agent_id), 0);
  `,
  // 2 -> 3: the structured fields of a log entry. Rows written before have neither (NULL), and
  // read back without them. Adding nullable columns rewrites nothing.
  (names) => `
  ALTER TABLE ${names.log}
    ADD COLUMN attempt integer CHECK (attempt BETWEEN 1 AND 1000000),
    ADD COLUMN kind text
      CHECK (kind IN ('lifecycle', 'progress', 'retry', 'fallback', 'resume', 'approval'));
  `,
  // 3 -> 4: durable runs. The `waiting` status (its checks are added NOT VALID: the new check
  // accepts every value the old one did, so existing rows need no scan, and the log, the largest
  // table, is locked only for the catalog change), the list order with `waiting` among the
  // unfinished, and the tables of the run record, the job queue and the documents. Every row is
  // kept as it is.
  (names) => `
  ALTER TABLE ${names.activities}
    DROP CONSTRAINT activities_status_check,
    ADD CONSTRAINT activities_status_check ${STATUS_CHECK} NOT VALID;
  ALTER TABLE ${names.log}
    DROP CONSTRAINT activity_log_status_check,
    ADD CONSTRAINT activity_log_status_check ${STATUS_CHECK} NOT VALID;
  DROP INDEX ${quoteIdentifier(names.schema)}.activities_list_order;
  CREATE INDEX activities_list_order ON ${names.activities} (${ACTIVE_KEY_SQL}, seq);
  CREATE TABLE ${names.runs} (
    agent_id text PRIMARY KEY REFERENCES ${names.activities} (agent_id) ON DELETE CASCADE,
    checkpoint text,
    pending jsonb CHECK (jsonb_typeof(pending) = 'array'),
    expires_at text,
    result text,
    updated_at timestamptz NOT NULL
  );
  CREATE TABLE ${names.journal} (
    agent_id text NOT NULL REFERENCES ${names.activities} (agent_id) ON DELETE CASCADE,
    tool_call_id text NOT NULL,
    seq bigserial NOT NULL,
    entry text NOT NULL,
    PRIMARY KEY (agent_id, tool_call_id)
  );
  CREATE TABLE ${names.jobs} (
    agent_id text PRIMARY KEY,
    seq bigserial NOT NULL,
    job text NOT NULL,
    priority integer NOT NULL,
    ready_at double precision NOT NULL,
    owner text,
    lease_until timestamptz,
    pushed_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((owner IS NULL) = (lease_until IS NULL))
  );
  CREATE INDEX jobs_claim_order ON ${names.jobs} (priority DESC, seq);
  CREATE TABLE ${names.documents} (
    namespace text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    value text NOT NULL,
    PRIMARY KEY (namespace, key)
  );
  COMMENT ON TABLE ${names.runs} IS 'Durable record of each @runner run: checkpoint (JSON text), pending requests, result (JSON text).';
  COMMENT ON TABLE ${names.journal} IS 'Completed tool calls of each @runner run (JSON text); the first record of a tool call id wins.';
  COMMENT ON TABLE ${names.jobs} IS 'Durable job queue of @runner pools; claims are leases (owner, lease_until).';
  COMMENT ON TABLE ${names.documents} IS 'JSON documents kept beside @runner runs, by namespace and key (binary key order).';
  `,
  // 4 -> 5: the metadata filters served by an index. One row per activity and metadata key whose
  // value is a string, number, boolean or null (what a filter can ask for), with the activity's
  // status, kept in step by the write path; its primary key (key, value, status, seq) gives each
  // status's matches newest first. Filled from the existing rows.
  (names) => `
  CREATE TABLE ${names.metadata} (
    key text NOT NULL,
    value jsonb NOT NULL,
    status text NOT NULL ${STATUS_CHECK},
    seq bigint NOT NULL REFERENCES ${names.activities} (seq) ON DELETE CASCADE,
    PRIMARY KEY (key, value, status, seq)
  );
  CREATE INDEX activity_metadata_seq ON ${names.metadata} (seq);
  INSERT INTO ${names.metadata} (key, value, status, seq)
  SELECT m.key, m.value, a.status, a.seq FROM ${names.activities} a, jsonb_each(a.metadata) m
  WHERE jsonb_typeof(m.value) IN ('string', 'number', 'boolean', 'null');
  COMMENT ON TABLE ${names.metadata} IS 'Metadata keys of each @runner activity with a primitive value, and its status: the index of list and countActive filters.';
  `,
  // 5 -> 6: fair claims across concurrency keys. Each job has its group ('': unkeyed, as every job
  // queued before; a column with a constant default rewrites nothing) and the group's limit. One
  // index serves both the claims of unkeyed jobs (group '', by priority then push order) and a
  // fair claim's look-up of each group's first jobs; a partial index counts the jobs in flight
  // per group; \`job_groups\` keeps when each group was last served (round-robin).
  (names) => `
  ALTER TABLE ${names.jobs}
    ADD COLUMN concurrency_key text COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN concurrency_limit integer CHECK (concurrency_limit >= 1);
  DROP INDEX ${quoteIdentifier(names.schema)}.jobs_claim_order;
  CREATE INDEX jobs_group_order ON ${names.jobs} (concurrency_key, priority DESC, seq);
  CREATE INDEX jobs_in_flight ON ${names.jobs} (concurrency_key) WHERE owner IS NOT NULL;
  CREATE TABLE ${names.jobGroups} (
    concurrency_key text COLLATE "C" PRIMARY KEY,
    last_turn bigint NOT NULL
  );
  CREATE INDEX job_groups_turn ON ${names.jobGroups} (last_turn);
  COMMENT ON TABLE ${names.jobGroups} IS 'When each concurrency key of the @runner job queue was last served by a claim (round-robin across keys).';
  `,
]

/** PostgreSQL error codes for a schema or table that does not exist. */
const MISSING = new Set(['3F000', '42P01'])

/**
 * Brings the schema to `SCHEMA_VERSION`: creates it on first use, applies missing migrations, and
 * refuses a schema written by a newer version. A current schema costs one read and needs no
 * privilege beyond `SELECT`; otherwise the work runs in one transaction under an advisory lock.
 * With `migrate: false` it only checks.
 */
export async function prepareSchema(pool: Pool, names: SchemaNames, migrate: boolean): Promise<void> {
  const version = await readVersion(pool, names)
  if (version === SCHEMA_VERSION) return
  if (version > SCHEMA_VERSION) throw tooNew(names, version)
  if (!migrate) {
    throw new RunnerError(
      version === 0
        ? `The PostgreSQL schema "${names.schema}" has no @runner activity tables, and this PostgresActivityStore was created with migrate: false. Create them once with migrate: true (by a role that may create tables in the schema).`
        : `The PostgreSQL schema "${names.schema}" is at @runner activity schema version ${version}; this @runner/postgres needs version ${SCHEMA_VERSION}. Migrate it once with migrate: true.`,
    )
  }
  const client = await pool.connect()
  let broken: Error | undefined
  try {
    await client.query('BEGIN')
    await client.query('SELECT pg_advisory_xact_lock($1::int, $2::int)', [
      LOCK_CLASS_MIGRATION,
      names.lockKey,
    ])
    // CREATE SCHEMA needs the CREATE privilege on the database even with IF NOT EXISTS: a role
    // allowed to create tables only in a schema made for it must not be asked for it.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [names.schema])
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${quoteIdentifier(names.schema)}`)
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${names.versions} (
         version integer PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    )
    // Read again under the lock: another process may have migrated while this one waited.
    let current = await versionOf(client, names)
    if (current > SCHEMA_VERSION) throw tooNew(names, current)
    for (; current < SCHEMA_VERSION; current++) {
      await client.query(migrations[current]!(names))
      await client.query(`INSERT INTO ${names.versions} (version) VALUES ($1)`, [current + 1])
    }
    await client.query('COMMIT')
  } catch (error) {
    broken = await rollback(client)
    throw error
  } finally {
    client.release(broken)
  }
}

async function readVersion(pool: Pool, names: SchemaNames): Promise<number> {
  try {
    return await versionOf(pool, names)
  } catch (error) {
    if (MISSING.has((error as { code?: unknown }).code as string)) return 0
    throw error
  }
}

async function versionOf(queryable: Pool | PoolClient, names: SchemaNames): Promise<number> {
  const result = await queryable.query<{ version: number }>(
    `SELECT coalesce(max(version), 0)::int AS version FROM ${names.versions}`,
  )
  return result.rows[0]?.version ?? 0
}

function tooNew(names: SchemaNames, version: number): RunnerError {
  return new RunnerError(
    `The PostgreSQL schema "${names.schema}" is at @runner activity schema version ${version}, newer than this @runner/postgres supports (${SCHEMA_VERSION}). Upgrade @runner/postgres in this process.`,
  )
}

/**
 * Ends the open transaction after an error. Returns the rollback's own error when the connection
 * is unusable (so the caller destroys it instead of returning it to the pool).
 */
export async function rollback(client: PoolClient): Promise<Error | undefined> {
  try {
    await client.query('ROLLBACK')
    return undefined
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error))
  }
}
