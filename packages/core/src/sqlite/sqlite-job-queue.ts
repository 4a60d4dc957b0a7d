import {
  validateClaimArguments,
  validateQueuedJob,
  validateQueuedJobs,
  validateRenewArguments,
} from '../activity/job-queue-helpers.js'
import type { ClaimedJob, DurableJobQueue, JsonValue, QueuedJob } from '../activity/types.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import type { SqliteAccess } from './sqlite-access.js'

/**
 * The durable job queue of a `SqliteActivityStore`: one row per job in `job_queue`. A claim reads
 * the ready jobs and marks them taken in one `BEGIN IMMEDIATE` transaction, so two processes on
 * the same file never claim the same job: SQLite lets one writer in at a time, and the second one
 * reads after the first committed. A lease is a time (`lease_until`, epoch ms of the claiming
 * process's clock); once it passes without a renewal, the job is claimable again and the next
 * claim reports it `redelivered`.
 *
 * Claims are fair across `concurrencyKey`s (see `DurableJobQueue.claim`). While no keyed job is
 * queued, a claim reads the unkeyed jobs in index order, as it always did. Otherwise it looks up
 * each group's first claimable jobs (at most `limit` per group, through the index on group,
 * priority and push order), counts each group's jobs in flight, ranks them and records the turn
 * of each group it served; the same write transaction makes the limit hold across processes.
 */
export class SqliteJobQueue implements DurableJobQueue {
  readonly #db: SqliteAccess
  readonly fairClaims = true

  constructor(access: SqliteAccess) {
    this.#db = access
  }

  async push(job: QueuedJob): Promise<void> {
    const valid = validateQueuedJob(job)
    const text = this.#jobText(valid, 'job', 'queued job')
    await this.#db.write(() => this.#insert(valid, text, 'agentId', 'queued job'))
  }

  /** All jobs in one transaction: validated first, and none stored if one is refused. */
  async pushMany(jobs: QueuedJob[]): Promise<void> {
    const valid = validateQueuedJobs(jobs)
    const texts = valid.map((job, index) => this.#jobText(job, `jobs[${index}].job`, 'queued jobs'))
    if (valid.length === 0) return
    await this.#db.write(() => {
      valid.forEach((job, index) => {
        this.#insert(job, texts[index] as string, `jobs[${index}].agentId`, 'queued jobs')
      })
    })
  }

  /** The job as JSON text, refused above the store's `maxRecordBytes`. */
  #jobText(valid: QueuedJob, field: string, subject: string): string {
    const text = JSON.stringify(valid.job)
    const bytes = Buffer.byteLength(text, 'utf8')
    if (bytes > this.#db.maxRecordBytes) {
      throw new InvalidOptionsError(
        [
          {
            field,
            message: `is ${bytes.toLocaleString('en-US')} bytes as JSON, over the store's limit of ${this.#db.maxRecordBytes.toLocaleString('en-US')} bytes (maxRecordBytes); keep large inputs elsewhere and queue a reference`,
          },
        ],
        { subject },
      )
    }
    return text
  }

  /** Inserts one job, inside a write transaction; refuses an agentId already queued. */
  #insert(valid: QueuedJob, text: string, field: string, subject: string): void {
    if (this.#db.statement('SELECT 1 FROM job_queue WHERE agent_id = ?').get(valid.agentId)) {
      throw new InvalidOptionsError(
        [
          {
            field,
            message: `a job with agentId "${valid.agentId}" is already queued; remove it first, or use a new id`,
          },
        ],
        { subject },
      )
    }
    this.#db
      .statement(
        `INSERT INTO job_queue (agent_id, job, priority, ready_at, concurrency_key, concurrency_limit)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(
        valid.agentId,
        text,
        valid.priority,
        valid.readyAt,
        valid.concurrencyKey ?? '',
        valid.concurrencyLimit ?? null,
      )
  }

  async claim(owner: string, limit: number, leaseMs: number): Promise<ClaimedJob[]> {
    validateClaimArguments(owner, limit, leaseMs)
    return this.#db.write(() => {
      // Read inside the write transaction: the time is taken once the lock is held.
      const now = Date.now()
      const rows = this.#hasKeyedJobs()
        ? this.#fairPick(now, limit)
        : this.#db
            .statement(
              `SELECT seq, agent_id, job, priority, ready_at, claimed_before, concurrency_key, concurrency_limit
               FROM job_queue
               WHERE concurrency_key = '' AND ready_at <= ? AND (owner IS NULL OR lease_until <= ?)
               ORDER BY priority DESC, seq LIMIT ?`,
            )
            .all(now, now, limit)
      const take = this.#db.statement(
        'UPDATE job_queue SET owner = ?, lease_until = ?, claimed_before = 1 WHERE seq = ?',
      )
      for (const row of rows) take.run(owner, now + leaseMs, row.seq as number)
      return rows.map(claimedOf)
    })
  }

  /** Whether any job with a concurrency key is queued (one index probe). */
  #hasKeyedJobs(): boolean {
    return (
      this.#db.statement(`SELECT 1 FROM job_queue WHERE concurrency_key > '' LIMIT 1`).get() !== undefined
    )
  }

  /**
   * The jobs of a fair claim, in claim order, inside the claim's write transaction; records the
   * turn of each group served and forgets the turns of groups that have no job left.
   */
  #fairPick(now: number, limit: number): Record<string, unknown>[] {
    const rows = this.#db
      .statement(
        `WITH RECURSIVE
           groups(k) AS (
             SELECT min(concurrency_key) FROM job_queue
             UNION ALL
             SELECT (SELECT min(concurrency_key) FROM job_queue WHERE concurrency_key > groups.k)
             FROM groups WHERE groups.k IS NOT NULL
           ),
           busy(k, n) AS (
             SELECT concurrency_key, count(*) FROM job_queue
             WHERE owner IS NOT NULL AND lease_until > :now GROUP BY concurrency_key
           ),
           candidates AS (
             SELECT j.seq, j.concurrency_key AS k, j.concurrency_limit AS lim, j.priority,
                    row_number() OVER (PARTITION BY j.concurrency_key ORDER BY j.priority DESC, j.seq) AS rn
             FROM groups JOIN job_queue j ON j.seq IN (
               SELECT seq FROM job_queue
               WHERE concurrency_key = groups.k AND ready_at <= :now AND (owner IS NULL OR lease_until <= :now)
               ORDER BY priority DESC, seq LIMIT :limit
             )
             WHERE groups.k IS NOT NULL
           ),
           ranked AS (
             SELECT c.seq, c.k, c.priority, coalesce(b.n, 0) + c.rn AS position,
                    coalesce(t.last_turn, -1) AS turn, c.lim
             FROM candidates c
             LEFT JOIN busy b ON b.k = c.k
             LEFT JOIN job_queue_groups t ON t.concurrency_key = c.k
           )
         SELECT r.seq, r.k, j.agent_id, j.job, j.priority, j.ready_at, j.claimed_before,
                j.concurrency_key, j.concurrency_limit
         FROM ranked r JOIN job_queue j ON j.seq = r.seq
         WHERE r.lim IS NULL OR r.position <= r.lim
         ORDER BY r.priority DESC, r.position, r.turn, r.seq
         LIMIT :limit`,
      )
      .all({ now, limit })
    if (rows.length === 0) return rows
    const first =
      ((this.#db.statement('SELECT max(last_turn) AS turn FROM job_queue_groups').get()?.turn as
        | number
        | null) ?? 0) + 1
    const served = this.#db.statement(
      `INSERT INTO job_queue_groups (concurrency_key, last_turn) VALUES (?, ?)
       ON CONFLICT (concurrency_key) DO UPDATE SET last_turn = excluded.last_turn`,
    )
    rows.forEach((row, index) => {
      served.run(row.k as string, first + index)
    })
    this.#db
      .statement(
        `DELETE FROM job_queue_groups WHERE NOT EXISTS
           (SELECT 1 FROM job_queue WHERE job_queue.concurrency_key = job_queue_groups.concurrency_key)`,
      )
      .run()
    return rows
  }

  async renew(owner: string, agentIds: string[], leaseMs: number): Promise<string[]> {
    validateRenewArguments(owner, agentIds, leaseMs)
    if (agentIds.length === 0) return []
    return this.#db.write(() => {
      const now = Date.now()
      const until = now + leaseMs
      // A lease that ran out is still renewed while no other owner claimed the job meanwhile and,
      // for a job with a limit, while its group has a free slot (its own may have gone to another).
      const extend = this.#db.statement(
        `UPDATE job_queue SET lease_until = :until
         WHERE agent_id = :agentId AND owner = :owner
           AND (lease_until > :now OR concurrency_limit IS NULL OR concurrency_limit > (
             SELECT count(*) FROM job_queue AS other
             WHERE other.concurrency_key = job_queue.concurrency_key
               AND other.owner IS NOT NULL AND other.lease_until > :now))`,
      )
      return agentIds.filter((agentId) => Number(extend.run({ until, agentId, owner, now }).changes) === 0)
    })
  }

  async remove(agentId: string): Promise<boolean> {
    if (typeof agentId !== 'string') return false
    return this.#db.write(
      () => this.#db.statement('DELETE FROM job_queue WHERE agent_id = ?').run(agentId).changes > 0,
    )
  }

  /**
   * The earliest time a claim can return a job: the ready time of an unclaimed job, or, for a
   * claimed one, when its lease runs out (if it is not renewed before); for a job whose group has
   * its `concurrencyLimit` of jobs in flight, when the first of their leases runs out.
   */
  async nextReadyAt(): Promise<number | undefined> {
    const row = this.#db.read(() => {
      if (!this.#hasKeyedJobs()) {
        return this.#db
          .statement(
            `SELECT min(CASE WHEN owner IS NULL THEN ready_at ELSE max(ready_at, lease_until) END) AS at FROM job_queue`,
          )
          .get()
      }
      return this.#db
        .statement(
          `WITH busy(k, n, first_end) AS (
             SELECT concurrency_key, count(*), min(lease_until) FROM job_queue
             WHERE owner IS NOT NULL AND concurrency_key > '' AND lease_until > :now
             GROUP BY concurrency_key
           )
           SELECT min(CASE
             WHEN j.owner IS NOT NULL AND j.lease_until > :now THEN max(j.ready_at, j.lease_until)
             WHEN b.n >= j.concurrency_limit THEN max(j.ready_at, b.first_end)
             WHEN j.owner IS NULL THEN j.ready_at
             ELSE max(j.ready_at, j.lease_until) END) AS at
           FROM job_queue j LEFT JOIN busy b ON b.k = j.concurrency_key`,
        )
        .get({ now: Date.now() })
    })
    return typeof row?.at === 'number' ? row.at : undefined
  }
}

/** A claimed job as the queue returns it: as pushed (its group and limit when it has them). */
function claimedOf(row: Record<string, unknown>): ClaimedJob {
  const key = row.concurrency_key as string
  const limit = row.concurrency_limit as number | null
  return {
    agentId: row.agent_id as string,
    job: JSON.parse(row.job as string) as JsonValue,
    priority: row.priority as number,
    readyAt: row.ready_at as number,
    ...(key === '' ? {} : { concurrencyKey: key }),
    ...(limit === null ? {} : { concurrencyLimit: limit }),
    redelivered: row.claimed_before === 1,
  }
}
