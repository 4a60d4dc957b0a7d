import type pg from 'pg'

/**
 * The schema of released versions of `PostgresActivityStore`, copied verbatim from the migration
 * steps those releases ran (with the constants they interpolated written out): fixtures for the
 * upgrade tests. Never edit a step; a test checks that an upgraded schema equals a new one.
 */
const releasedSteps: ReadonlyArray<(schema: string) => string> = [
  // Version 1.
  (schema) => `
  CREATE TABLE "${schema}".activities (
    seq bigserial PRIMARY KEY,
    agent_id text NOT NULL UNIQUE,
    agent_type text NOT NULL,
    status text NOT NULL CHECK (status IN ('queued', 'running', 'complete', 'error', 'canceled')),
    message text NOT NULL,
    percentage smallint NOT NULL CHECK (percentage BETWEEN 0 AND 100),
    metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    started_at timestamptz,
    finished_at timestamptz
  );
  CREATE INDEX activities_status_seq ON "${schema}".activities (status, seq);
  CREATE INDEX activities_list_order ON "${schema}".activities (((status IN ('queued', 'running'))::int), seq);
  CREATE INDEX activities_metadata ON "${schema}".activities USING gin (metadata jsonb_path_ops);
  CREATE TABLE "${schema}".activity_log (
    id bigserial PRIMARY KEY,
    agent_id text NOT NULL REFERENCES "${schema}".activities (agent_id) ON DELETE CASCADE,
    status text NOT NULL CHECK (status IN ('queued', 'running', 'complete', 'error', 'canceled')),
    message text NOT NULL,
    percentage smallint CHECK (percentage BETWEEN 0 AND 100),
    activity_percentage smallint NOT NULL CHECK (activity_percentage BETWEEN 0 AND 100),
    at timestamptz NOT NULL
  );
  CREATE INDEX activity_log_agent_id ON "${schema}".activity_log (agent_id, id);
  CREATE TABLE "${schema}".trajectories (
    agent_id text PRIMARY KEY REFERENCES "${schema}".activities (agent_id) ON DELETE CASCADE,
    trajectory jsonb NOT NULL,
    saved_at timestamptz NOT NULL DEFAULT now()
  );
  COMMENT ON TABLE "${schema}".activities IS 'Current state of each @runner activity (one row per agentId).';
  COMMENT ON TABLE "${schema}".activity_log IS 'Append-only log of @runner activity changes; id order is commit order.';
  COMMENT ON TABLE "${schema}".trajectories IS 'Trajectory of each @runner run (JSON).';
  `,
  // Version 2.
  (schema) => `
  ALTER TABLE "${schema}".activities ADD COLUMN last_log_id bigint NOT NULL DEFAULT 0;
  UPDATE "${schema}".activities a
  SET last_log_id = coalesce((SELECT max(l.id) FROM "${schema}".activity_log l WHERE l.agent_id = a.agent_id), 0);
  `,
  // Version 3.
  (schema) => `
  ALTER TABLE "${schema}".activity_log
    ADD COLUMN attempt integer CHECK (attempt BETWEEN 1 AND 1000000),
    ADD COLUMN kind text
      CHECK (kind IN ('lifecycle', 'progress', 'retry', 'fallback', 'resume', 'approval'));
  `,
  // Version 4.
  (schema) => `
  ALTER TABLE "${schema}".activities
    DROP CONSTRAINT activities_status_check,
    ADD CONSTRAINT activities_status_check CHECK (status IN ('queued', 'running', 'waiting', 'complete', 'error', 'canceled')) NOT VALID;
  ALTER TABLE "${schema}".activity_log
    DROP CONSTRAINT activity_log_status_check,
    ADD CONSTRAINT activity_log_status_check CHECK (status IN ('queued', 'running', 'waiting', 'complete', 'error', 'canceled')) NOT VALID;
  DROP INDEX "${schema}".activities_list_order;
  CREATE INDEX activities_list_order ON "${schema}".activities (((status IN ('queued', 'running', 'waiting'))::int), seq);
  CREATE TABLE "${schema}".runs (
    agent_id text PRIMARY KEY REFERENCES "${schema}".activities (agent_id) ON DELETE CASCADE,
    checkpoint text,
    pending jsonb CHECK (jsonb_typeof(pending) = 'array'),
    expires_at text,
    result text,
    updated_at timestamptz NOT NULL
  );
  CREATE TABLE "${schema}".run_journal (
    agent_id text NOT NULL REFERENCES "${schema}".activities (agent_id) ON DELETE CASCADE,
    tool_call_id text NOT NULL,
    seq bigserial NOT NULL,
    entry text NOT NULL,
    PRIMARY KEY (agent_id, tool_call_id)
  );
  CREATE TABLE "${schema}".jobs (
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
  CREATE INDEX jobs_claim_order ON "${schema}".jobs (priority DESC, seq);
  CREATE TABLE "${schema}".documents (
    namespace text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    value text NOT NULL,
    PRIMARY KEY (namespace, key)
  );
  COMMENT ON TABLE "${schema}".runs IS 'Durable record of each @runner run: checkpoint (JSON text), pending requests, result (JSON text).';
  COMMENT ON TABLE "${schema}".run_journal IS 'Completed tool calls of each @runner run (JSON text); the first record of a tool call id wins.';
  COMMENT ON TABLE "${schema}".jobs IS 'Durable job queue of @runner pools; claims are leases (owner, lease_until).';
  COMMENT ON TABLE "${schema}".documents IS 'JSON documents kept beside @runner runs, by namespace and key (binary key order).';
  `,
  // Version 5.
  (schema) => `
  CREATE TABLE "${schema}".activity_metadata (
    key text NOT NULL,
    value jsonb NOT NULL,
    status text NOT NULL CHECK (status IN ('queued', 'running', 'waiting', 'complete', 'error', 'canceled')),
    seq bigint NOT NULL REFERENCES "${schema}".activities (seq) ON DELETE CASCADE,
    PRIMARY KEY (key, value, status, seq)
  );
  CREATE INDEX activity_metadata_seq ON "${schema}".activity_metadata (seq);
  INSERT INTO "${schema}".activity_metadata (key, value, status, seq)
  SELECT m.key, m.value, a.status, a.seq FROM "${schema}".activities a, jsonb_each(a.metadata) m
  WHERE jsonb_typeof(m.value) IN ('string', 'number', 'boolean', 'null');
  COMMENT ON TABLE "${schema}".activity_metadata IS 'Metadata keys of each @runner activity with a primitive value, and its status: the index of list and countActive filters.';
  `,
]

/** A version of the schema that a released store left. */
export type ReleasedVersion = 1 | 2 | 3 | 4 | 5

/** Creates `schema` as a released store of `version` (1 to 5) left it on first use. */
export async function createReleasedSchema(
  pool: pg.Pool,
  schema: string,
  version: ReleasedVersion,
): Promise<void> {
  await pool.query(`CREATE SCHEMA "${schema}"`)
  await pool.query(
    `CREATE TABLE IF NOT EXISTS "${schema}".schema_version (
       version integer PRIMARY KEY,
       applied_at timestamptz NOT NULL DEFAULT now()
     )`,
  )
  for (let step = 0; step < version; step++) {
    await pool.query(releasedSteps[step]!(schema))
    await pool.query(`INSERT INTO "${schema}".schema_version (version) VALUES ($1)`, [step + 1])
  }
}

/** One log entry as released versions stored it: no attempt or kind before version 3. */
export interface ReleasedEntry {
  /** `waiting` from version 4 on. */
  status: 'queued' | 'running' | 'waiting' | 'complete' | 'error' | 'canceled'
  message: string
  percentage: number | null
  at: string
  /** Version 3 only. */
  attempt?: number
  /** Version 3 only. */
  kind?: 'lifecycle' | 'progress' | 'retry' | 'fallback' | 'resume' | 'approval'
}

/**
 * Writes an activity with the rows a released store of `version` wrote: the current row and one
 * log row per entry (each keeping the activity's percentage after it), from version 2 on the id
 * of the latest log row on the current row, and from version 3 on each entry's attempt and kind.
 */
export async function writeReleasedActivity(
  pool: pg.Pool,
  schema: string,
  version: ReleasedVersion,
  activity: { agentId: string; agentType: string; metadata: Record<string, unknown>; log: ReleasedEntry[] },
): Promise<void> {
  const [first] = activity.log
  if (first?.status !== 'queued') throw new Error('the first entry of a log is queued')
  await pool.query(
    `INSERT INTO "${schema}".activities (agent_id, agent_type, status, message, percentage, metadata, created_at, updated_at)
     VALUES ($1, $2, 'queued', $3, 0, $4::jsonb, $5, $5)`,
    [activity.agentId, activity.agentType, first.message, JSON.stringify(activity.metadata), first.at],
  )
  let percentage = 0
  let startedAt: string | null = null
  let finishedAt: string | null = null
  for (const entry of activity.log) {
    percentage = entry.percentage ?? percentage
    if (entry.status === 'running') startedAt ??= entry.at
    if (entry.status === 'complete' || entry.status === 'error' || entry.status === 'canceled') {
      finishedAt = entry.at
    }
    if (version < 3 && (entry.attempt !== undefined || entry.kind !== undefined)) {
      throw new Error(`a version ${version} log has no attempt or kind`)
    }
    const { rows } = await pool.query<{ id: string }>(
      version >= 3
        ? `INSERT INTO "${schema}".activity_log (agent_id, status, message, percentage, activity_percentage, at, attempt, kind)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id::text AS id`
        : `INSERT INTO "${schema}".activity_log (agent_id, status, message, percentage, activity_percentage, at)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id::text AS id`,
      [
        activity.agentId,
        entry.status,
        entry.message,
        entry.percentage,
        percentage,
        entry.at,
        ...(version >= 3 ? [entry.attempt ?? null, entry.kind ?? null] : []),
      ],
    )
    await pool.query(
      `UPDATE "${schema}".activities
       SET status = $2, message = $3, percentage = $4, updated_at = $5, started_at = $6, finished_at = $7
       ${version >= 2 ? ', last_log_id = $8' : ''}
       WHERE agent_id = $1`,
      [
        activity.agentId,
        entry.status,
        entry.message,
        percentage,
        entry.at,
        startedAt,
        finishedAt,
        ...(version >= 2 ? [rows[0]!.id] : []),
      ],
    )
  }
}

/**
 * What the catalog says of `schema`: tables and their columns, constraints, indexes and comments,
 * with the schema's own name replaced, so that two schemas can be compared.
 */
export async function schemaShape(pool: pg.Pool, schema: string): Promise<unknown> {
  const anonymous = (value: unknown) =>
    JSON.parse(JSON.stringify(value).replaceAll(schema, '<schema>')) as unknown
  const columns = await pool.query(
    `SELECT table_name, column_name, ordinal_position, data_type, is_nullable, column_default
     FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
    [schema],
  )
  const constraints = await pool.query(
    `SELECT c.conrelid::regclass::text AS table_name, c.conname, pg_get_constraintdef(c.oid) AS definition
     FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
     WHERE n.nspname = $1 ORDER BY 1, 2`,
    [schema],
  )
  const indexes = await pool.query(
    'SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY 1, 2',
    [schema],
  )
  const comments = await pool.query(
    `SELECT c.relname, obj_description(c.oid, 'pg_class') AS comment
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1`,
    [schema],
  )
  return anonymous({
    columns: columns.rows,
    constraints: constraints.rows,
    indexes: indexes.rows,
    comments: comments.rows,
  })
}
