import { InvalidOptionsError } from '@runner/core'
import { parseOrThrow } from '@runner/core/adapter'
import {
  assertStorableText,
  type ClaimedJob,
  type DurableJobQueue,
  isStorableText,
  type JsonValue,
  type QueuedJob,
  storableJsonText,
  validateJobConcurrency,
} from '@runner/core/store'
import { z } from 'zod'
import { LOCK_CLASS_FAIR_CLAIM, STATEMENT_MS } from './sql.js'
import type { Query, StoreDatabase } from './store-database.js'

const idSchema = z
  .string({ error: 'must be a string' })
  .min(1, 'must be a non-empty string')
  .max(200, 'must be at most 200 characters')

const INT32 = 2_147_483_647

const pushSchema = z.object({
  agentId: idSchema,
  job: z.unknown(),
  priority: z
    .number({ error: 'must be a number' })
    .int(`must be an integer from -${INT32} to ${INT32}`)
    .min(-INT32, `must be an integer from -${INT32} to ${INT32}`)
    .max(INT32, `must be an integer from -${INT32} to ${INT32}`),
  readyAt: z.number({ error: 'must be a finite number (epoch milliseconds)' }),
})

const claimSchema = z.object({
  owner: idSchema,
  limit: z.number({ error: 'must be a number' }).int('must be an integer').min(0, 'must be 0 or more'),
  leaseMs: z
    .number({ error: 'must be a number of milliseconds' })
    .int('must be an integer number of milliseconds')
    .min(1, 'must be at least 1')
    .max(INT32, `must be at most ${INT32}`),
})

const renewSchema = claimSchema.omit({ limit: true }).extend({
  agentIds: z.array(z.string({ error: 'must be strings' }), { error: 'must be an array of agentIds' }),
})

interface JobRow {
  agent_id: string
  seq: string
  job: string
  priority: number
  ready_at: string
  concurrency_key: string
  concurrency_limit: number | null
  redelivered: boolean
}

/** The columns a claim returns (`j`: the updated row; `picked.redelivered`: read before it). */
const CLAIMED_COLUMNS = `j.agent_id, j.seq::text AS seq, j.job, j.priority, j.ready_at::text AS ready_at,
  j.concurrency_key, j.concurrency_limit, picked.redelivered`

/**
 * The durable job queue of `PostgresActivityStore` (its `jobQueue`): one row per job in
 * `<schema>.jobs`. While no job with a concurrency key is queued, a claim is one statement that
 * picks ready rows with `FOR UPDATE SKIP LOCKED` (highest priority first, then push order) and
 * writes the owner and its lease end on them, so claimers in any number of processes never get the
 * same job, nor wait for each other. Every time is the database clock: leases mean the same on
 * every machine.
 *
 * With keyed jobs queued, a claim is fair (see `DurableJobQueue.claim`): it takes a
 * transaction-level advisory lock of the schema (so fair claims run one at a time, each reading the
 * counts of jobs in flight that the previous one committed), then one statement looks up each
 * group's first claimable jobs, ranks them, takes them (an update that checks again that each row
 * is still free, against a plain claim taking unkeyed jobs meanwhile) and records the turn of each
 * group served. Plain claims never take a keyed job, so only fair claims put keyed jobs in flight.
 */
export class PostgresJobQueue implements DurableJobQueue {
  readonly #database: StoreDatabase
  readonly fairClaims = true

  constructor(database: StoreDatabase) {
    this.#database = database
  }

  async push(job: QueuedJob): Promise<void> {
    const valid = parseOrThrow(pushSchema, job, 'queued job')
    assertStorableText(valid.agentId, 'agentId', 'queued job')
    const concurrency = validateJobConcurrency(job)
    const text = jsonText(valid.job, 'job')
    const { names } = this.#database
    const inserted = await this.#database.query(
      `INSERT INTO ${names.jobs} (agent_id, job, priority, ready_at, concurrency_key, concurrency_limit)
       VALUES ($1::text, $2::text, $3::integer, $4::double precision, $5::text, $6::integer)
       ON CONFLICT (agent_id) DO NOTHING`,
      [
        valid.agentId,
        text,
        valid.priority,
        valid.readyAt,
        concurrency.concurrencyKey ?? '',
        concurrency.concurrencyLimit ?? null,
      ],
      true,
    )
    if (inserted.rowCount === 0) {
      throw new InvalidOptionsError(
        [
          {
            field: 'agentId',
            message: `a job with agentId "${valid.agentId}" is already queued; remove it first or use a new id`,
          },
        ],
        { subject: 'queued job' },
      )
    }
  }

  /**
   * All jobs in one statement (one transaction): validated first, and none stored if one is
   * refused (invalid, given twice, or already queued: `InvalidOptionsError` naming `jobs[index]`).
   * Their `seq` follows the array's order, so equal priorities are claimed in that order.
   */
  async pushMany(jobs: QueuedJob[]): Promise<void> {
    if (!Array.isArray(jobs)) {
      throw new InvalidOptionsError([{ field: 'jobs', message: 'must be an array of queued jobs' }], {
        subject: 'queued jobs',
      })
    }
    const seen = new Map<string, number>()
    const valid = jobs.map((job, index) => {
      const prefix = `jobs[${index}]`
      const parsed = parseOrThrow(pushSchema, job, 'queued jobs', prefix)
      assertStorableText(parsed.agentId, `${prefix}.agentId`, 'queued jobs')
      const concurrency = validateJobConcurrency(job, prefix, 'queued jobs')
      const text = jsonText(parsed.job, `${prefix}.job`, 'queued jobs')
      const first = seen.get(parsed.agentId)
      if (first !== undefined) {
        throw new InvalidOptionsError(
          [
            {
              field: `${prefix}.agentId`,
              message: `"${parsed.agentId}" is also the agentId of jobs[${first}]; each job of a batch needs its own`,
            },
          ],
          { subject: 'queued jobs' },
        )
      }
      seen.set(parsed.agentId, index)
      return { ...parsed, ...concurrency, text }
    })
    if (valid.length === 0) return
    const { names } = this.#database
    await this.#database.transaction(async (query) => {
      const inserted = await query<{ agent_id: string }>(
        `INSERT INTO ${names.jobs} (agent_id, job, priority, ready_at, concurrency_key, concurrency_limit)
         SELECT agent_id, job, priority, ready_at, concurrency_key, concurrency_limit
         FROM unnest($1::text[], $2::text[], $3::integer[], $4::double precision[], $5::text[], $6::integer[])
              WITH ORDINALITY AS batch(agent_id, job, priority, ready_at, concurrency_key, concurrency_limit, position)
         ORDER BY position
         ON CONFLICT (agent_id) DO NOTHING
         RETURNING agent_id`,
        [
          valid.map((job) => job.agentId),
          valid.map((job) => job.text),
          valid.map((job) => job.priority),
          valid.map((job) => job.readyAt),
          valid.map((job) => job.concurrencyKey ?? ''),
          valid.map((job) => job.concurrencyLimit ?? null),
        ],
        true,
      )
      if (inserted.rows.length === valid.length) return
      const stored = new Set(inserted.rows.map((row) => row.agent_id))
      const index = valid.findIndex((job) => !stored.has(job.agentId))
      // Thrown inside the transaction: it rolls back, and none of the batch is stored.
      throw new InvalidOptionsError(
        [
          {
            field: `jobs[${index}].agentId`,
            message: `a job with agentId "${valid[index]?.agentId}" is already queued; remove it first or use a new id (no job of the batch was stored)`,
          },
        ],
        { subject: 'queued jobs' },
      )
    })
  }

  async claim(owner: string, limit: number, leaseMs: number): Promise<ClaimedJob[]> {
    const valid = parseOrThrow(claimSchema, { owner, limit, leaseMs }, 'job claim')
    assertStorableText(valid.owner, 'owner', 'job claim')
    if (valid.limit === 0) return []
    const { names } = this.#database
    const values = [valid.owner, valid.limit, valid.leaseMs]
    // Unkeyed jobs only, and none while a keyed job is queued (a fair claim serves both then).
    // `redelivered` is read before the update: a row that had an owner had a lease that expired.
    const plain = await this.#database.query<JobRow>(
      `WITH picked AS (
         SELECT agent_id, owner IS NOT NULL AS redelivered FROM ${names.jobs}
         WHERE concurrency_key = '' AND ready_at <= ${STATEMENT_MS}
           AND (owner IS NULL OR lease_until <= statement_timestamp())
           AND NOT EXISTS (SELECT 1 FROM ${names.jobs} WHERE concurrency_key > '')
         ORDER BY priority DESC, seq
         LIMIT $2::integer
         FOR UPDATE SKIP LOCKED
       )
       UPDATE ${names.jobs} j
       SET owner = $1::text, lease_until = statement_timestamp() + $3::integer * interval '1 millisecond'
       FROM picked WHERE j.agent_id = picked.agent_id
       RETURNING ${CLAIMED_COLUMNS}`,
      values,
      true,
    )
    let rows = plain.rows.sort((a, b) => b.priority - a.priority || compareSeq(a.seq, b.seq))
    if (rows.length === 0 && (await this.#hasKeyedJobs())) {
      rows = await this.#database.transaction(async (query) => {
        await query('SELECT pg_advisory_xact_lock($1::int, $2::int)', [LOCK_CLASS_FAIR_CLAIM, names.lockKey])
        return (await this.#fairClaim(query, values)).sort((a, b) => Number(a.position) - Number(b.position))
      })
    }
    return rows.map(claimedOf)
  }

  /** Whether a job with a concurrency key is queued (one index probe). */
  async #hasKeyedJobs(): Promise<boolean> {
    const { names } = this.#database
    const found = await this.#database.query(
      `SELECT 1 FROM ${names.jobs} WHERE concurrency_key > '' LIMIT 1`,
      [],
      true,
    )
    return (found.rowCount ?? 0) > 0
  }

  /**
   * A fair claim, under the lock: each group's first claimable jobs (at most `limit` a group,
   * through the index on group, priority and push order; groups found by a walk of that index),
   * ranked by priority, then the group's jobs in flight plus its jobs ranked before in this claim,
   * then the group's last turn, then push order, without a job that would put its group over its
   * limit. The same statement records each served group's turn and forgets the turns of groups
   * without jobs.
   */
  async #fairClaim(query: Query, values: unknown[]): Promise<Array<JobRow & { position: string }>> {
    const { names } = this.#database
    const claimed = await query<JobRow & { position: string }>(
      `WITH RECURSIVE groups(k) AS (
         (SELECT concurrency_key FROM ${names.jobs} ORDER BY concurrency_key LIMIT 1)
         UNION ALL
         SELECT (SELECT concurrency_key FROM ${names.jobs} WHERE concurrency_key > groups.k
                 ORDER BY concurrency_key LIMIT 1)
         FROM groups WHERE groups.k IS NOT NULL
       ),
       busy AS (
         SELECT concurrency_key AS k, count(*) AS n FROM ${names.jobs}
         WHERE owner IS NOT NULL AND lease_until > statement_timestamp()
         GROUP BY concurrency_key
       ),
       candidates AS (
         SELECT c.agent_id, c.seq, c.priority, c.concurrency_limit, c.redelivered, groups.k,
                row_number() OVER (PARTITION BY groups.k ORDER BY c.priority DESC, c.seq) AS rn
         FROM groups CROSS JOIN LATERAL (
           SELECT agent_id, seq, priority, concurrency_limit, owner IS NOT NULL AS redelivered
           FROM ${names.jobs}
           WHERE concurrency_key = groups.k AND ready_at <= ${STATEMENT_MS}
             AND (owner IS NULL OR lease_until <= statement_timestamp())
           ORDER BY priority DESC, seq
           LIMIT $2::integer
         ) c
         WHERE groups.k IS NOT NULL
       ),
       picked AS (
         SELECT cd.agent_id, cd.k, cd.redelivered,
                row_number() OVER (
                  ORDER BY cd.priority DESC, coalesce(b.n, 0) + cd.rn, coalesce(t.last_turn, -1), cd.seq
                ) AS position
         FROM candidates cd
         LEFT JOIN busy b ON b.k = cd.k
         LEFT JOIN ${names.jobGroups} t ON t.concurrency_key = cd.k
         WHERE cd.concurrency_limit IS NULL OR coalesce(b.n, 0) + cd.rn <= cd.concurrency_limit
         ORDER BY position
         LIMIT $2::integer
       ),
       taken AS (
         UPDATE ${names.jobs} j
         SET owner = $1::text, lease_until = statement_timestamp() + $3::integer * interval '1 millisecond'
         FROM picked
         WHERE j.agent_id = picked.agent_id
           AND (j.owner IS NULL OR j.lease_until <= statement_timestamp())
         RETURNING ${CLAIMED_COLUMNS}, picked.position::text AS position
       ),
       turns AS (
         INSERT INTO ${names.jobGroups} (concurrency_key, last_turn)
         SELECT concurrency_key,
                (SELECT coalesce(max(last_turn), 0) FROM ${names.jobGroups}) + max(position::bigint)
         FROM taken GROUP BY concurrency_key
         ON CONFLICT (concurrency_key) DO UPDATE SET last_turn = excluded.last_turn
       ),
       forgotten AS (
         DELETE FROM ${names.jobGroups} t
         WHERE NOT EXISTS (SELECT 1 FROM ${names.jobs} j WHERE j.concurrency_key = t.concurrency_key)
       )
       SELECT * FROM taken`,
      values,
      true,
    )
    return claimed.rows
  }

  async renew(owner: string, agentIds: string[], leaseMs: number): Promise<string[]> {
    const valid = parseOrThrow(renewSchema, { owner, agentIds, leaseMs }, 'lease renewal')
    const ids = [...new Set(valid.agentIds)]
    const storable = ids.filter(isStorableText)
    if (storable.length === 0 || !isStorableText(valid.owner)) return ids
    const { names } = this.#database
    // A lease that expired but that no other owner claimed yet is still this owner's: renewed,
    // here at once unless the job has a limit (then below, under the fair claims' lock).
    const renewed = await this.#database.query<{ agent_id: string }>(
      `UPDATE ${names.jobs}
       SET lease_until = statement_timestamp() + $3::integer * interval '1 millisecond'
       WHERE agent_id = ANY($2::text[]) AND owner = $1::text
         AND (lease_until > statement_timestamp() OR concurrency_limit IS NULL)
       RETURNING agent_id`,
      [valid.owner, storable, valid.leaseMs],
      true,
    )
    const held = new Set(renewed.rows.map((row) => row.agent_id))
    const rest = storable.filter((id) => !held.has(id))
    if (rest.length > 0) {
      for (const id of await this.#renewLimited(valid.owner, rest, valid.leaseMs)) held.add(id)
    }
    return ids.filter((id) => !held.has(id))
  }

  /**
   * Renews this owner's expired leases on jobs with a limit, each only while its group has a free
   * slot: under the fair claims' lock, one job per statement (each sees the previous one's lease).
   * Resolves with the ids renewed.
   */
  async #renewLimited(owner: string, agentIds: string[], leaseMs: number): Promise<string[]> {
    const { names } = this.#database
    const expired = await this.#database.query<{ agent_id: string }>(
      `SELECT agent_id FROM ${names.jobs}
       WHERE agent_id = ANY($2::text[]) AND owner = $1::text AND concurrency_limit IS NOT NULL`,
      [owner, agentIds],
      true,
    )
    if (expired.rows.length === 0) return []
    return this.#database.transaction(async (query) => {
      await query('SELECT pg_advisory_xact_lock($1::int, $2::int)', [LOCK_CLASS_FAIR_CLAIM, names.lockKey])
      const renewed: string[] = []
      for (const { agent_id: agentId } of expired.rows) {
        const result = await query(
          `UPDATE ${names.jobs} j
           SET lease_until = statement_timestamp() + $3::integer * interval '1 millisecond'
           WHERE agent_id = $2::text AND owner = $1::text
             AND (lease_until > statement_timestamp() OR concurrency_limit > (
               SELECT count(*) FROM ${names.jobs} other
               WHERE other.concurrency_key = j.concurrency_key
                 AND other.owner IS NOT NULL AND other.lease_until > statement_timestamp()))`,
          [owner, agentId, leaseMs],
          true,
        )
        if ((result.rowCount ?? 0) > 0) renewed.push(agentId)
      }
      return renewed
    })
  }

  async remove(agentId: string): Promise<boolean> {
    if (typeof agentId !== 'string' || agentId.includes('\u0000')) return false
    const { names } = this.#database
    const removed = await this.#database.query(
      `DELETE FROM ${names.jobs} WHERE agent_id = $1::text`,
      [agentId],
      true,
    )
    return (removed.rowCount ?? 0) > 0
  }

  async nextReadyAt(): Promise<number | undefined> {
    const { names } = this.#database
    // Unclaimed jobs, and jobs whose lease expired (claimable again: ready now, or when their
    // ready time comes). Jobs under a live lease are not waiting for a claim; a job whose group
    // has its limit of jobs in flight waits for the first of their leases to run out.
    const next = await this.#database.query<{ ready_at: string | null }>(
      `WITH busy AS (
         SELECT concurrency_key AS k, count(*) AS n, min(lease_until) AS first_end FROM ${names.jobs}
         WHERE owner IS NOT NULL AND concurrency_key > '' AND lease_until > statement_timestamp()
         GROUP BY concurrency_key
       )
       SELECT min(CASE WHEN b.n >= j.concurrency_limit
                       THEN greatest(j.ready_at, (extract(epoch FROM b.first_end) * 1000)::double precision)
                       ELSE j.ready_at END)::text AS ready_at
       FROM ${names.jobs} j LEFT JOIN busy b ON b.k = j.concurrency_key
       WHERE j.owner IS NULL OR j.lease_until <= statement_timestamp()`,
      [],
      true,
    )
    const text = next.rows[0]?.ready_at
    return text === null || text === undefined ? undefined : Number(text)
  }
}

/** JSON text of `value`, refusing what JSON cannot hold with an error naming `field`. */
/** The JSON text of a job, with U+FFFD for a NUL or lone surrogate (core's text policy, as every store). */
function jsonText(value: unknown, field: string, subject = 'queued job'): string {
  try {
    return storableJsonText(JSON.stringify(value) ?? 'null')
  } catch (error) {
    throw new InvalidOptionsError(
      [{ field, message: `is not JSON (${error instanceof Error ? error.message : String(error)})` }],
      { subject },
    )
  }
}

/** A claimed job as the queue returns it: as pushed (its group and limit when it has them). */
function claimedOf(row: JobRow): ClaimedJob {
  return {
    agentId: row.agent_id,
    job: JSON.parse(row.job) as JsonValue,
    priority: row.priority,
    readyAt: Number(row.ready_at),
    ...(row.concurrency_key === '' ? {} : { concurrencyKey: row.concurrency_key }),
    ...(row.concurrency_limit === null ? {} : { concurrencyLimit: row.concurrency_limit }),
    redelivered: row.redelivered,
  }
}

function compareSeq(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
}
