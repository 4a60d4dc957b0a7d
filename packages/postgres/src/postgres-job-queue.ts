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
} from '@runner/core/store'
import { z } from 'zod'
import { STATEMENT_MS } from './sql.js'
import type { StoreDatabase } from './store-database.js'

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
  redelivered: boolean
}

/**
 * The durable job queue of `PostgresActivityStore` (its `jobQueue`): one row per job in
 * `<schema>.jobs`. A claim is one statement that picks ready rows with `FOR UPDATE SKIP LOCKED`
 * (highest priority first, then push order) and writes the owner and its lease end on them, so
 * claimers in any number of processes never get the same job, nor wait for each other. Every time
 * is the database clock: leases mean the same on every machine.
 */
export class PostgresJobQueue implements DurableJobQueue {
  readonly #database: StoreDatabase

  constructor(database: StoreDatabase) {
    this.#database = database
  }

  async push(job: QueuedJob): Promise<void> {
    const valid = parseOrThrow(pushSchema, job, 'queued job')
    assertStorableText(valid.agentId, 'agentId', 'queued job')
    const text = jsonText(valid.job, 'job')
    const { names } = this.#database
    const inserted = await this.#database.query(
      `INSERT INTO ${names.jobs} (agent_id, job, priority, ready_at)
       VALUES ($1::text, $2::text, $3::integer, $4::double precision)
       ON CONFLICT (agent_id) DO NOTHING`,
      [valid.agentId, text, valid.priority, valid.readyAt],
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
      return { ...parsed, text }
    })
    if (valid.length === 0) return
    const { names } = this.#database
    await this.#database.transaction(async (query) => {
      const inserted = await query<{ agent_id: string }>(
        `INSERT INTO ${names.jobs} (agent_id, job, priority, ready_at)
         SELECT agent_id, job, priority, ready_at
         FROM unnest($1::text[], $2::text[], $3::integer[], $4::double precision[])
              WITH ORDINALITY AS batch(agent_id, job, priority, ready_at, position)
         ORDER BY position
         ON CONFLICT (agent_id) DO NOTHING
         RETURNING agent_id`,
        [
          valid.map((job) => job.agentId),
          valid.map((job) => job.text),
          valid.map((job) => job.priority),
          valid.map((job) => job.readyAt),
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
    // `redelivered` is read before the update: a row that had an owner had a lease that expired.
    const claimed = await this.#database.query<JobRow>(
      `WITH picked AS (
         SELECT agent_id, owner IS NOT NULL AS redelivered FROM ${names.jobs}
         WHERE ready_at <= ${STATEMENT_MS}
           AND (owner IS NULL OR lease_until <= statement_timestamp())
         ORDER BY priority DESC, seq
         LIMIT $2::integer
         FOR UPDATE SKIP LOCKED
       )
       UPDATE ${names.jobs} j
       SET owner = $1::text, lease_until = statement_timestamp() + $3::integer * interval '1 millisecond'
       FROM picked WHERE j.agent_id = picked.agent_id
       RETURNING j.agent_id, j.seq::text AS seq, j.job, j.priority, j.ready_at::text AS ready_at,
                 picked.redelivered`,
      [valid.owner, valid.limit, valid.leaseMs],
      true,
    )
    return claimed.rows
      .sort((a, b) => b.priority - a.priority || compareSeq(a.seq, b.seq))
      .map((row) => ({
        agentId: row.agent_id,
        job: JSON.parse(row.job) as JsonValue,
        priority: row.priority,
        readyAt: Number(row.ready_at),
        redelivered: row.redelivered,
      }))
  }

  async renew(owner: string, agentIds: string[], leaseMs: number): Promise<string[]> {
    const valid = parseOrThrow(renewSchema, { owner, agentIds, leaseMs }, 'lease renewal')
    const ids = [...new Set(valid.agentIds)]
    const storable = ids.filter(isStorableText)
    if (storable.length === 0 || !isStorableText(valid.owner)) return ids
    const { names } = this.#database
    // A lease that expired but that no other owner claimed yet is still this owner's: renewed.
    const renewed = await this.#database.query<{ agent_id: string }>(
      `UPDATE ${names.jobs}
       SET lease_until = statement_timestamp() + $3::integer * interval '1 millisecond'
       WHERE agent_id = ANY($2::text[]) AND owner = $1::text
       RETURNING agent_id`,
      [valid.owner, storable, valid.leaseMs],
      true,
    )
    const held = new Set(renewed.rows.map((row) => row.agent_id))
    return ids.filter((id) => !held.has(id))
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
    // ready time comes). Jobs under a live lease are not waiting for a claim.
    const next = await this.#database.query<{ ready_at: string | null }>(
      `SELECT min(ready_at)::text AS ready_at FROM ${names.jobs}
       WHERE owner IS NULL OR lease_until <= statement_timestamp()`,
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

function compareSeq(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
}
