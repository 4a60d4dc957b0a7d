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
 */
export class SqliteJobQueue implements DurableJobQueue {
  readonly #db: SqliteAccess

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
      .statement('INSERT INTO job_queue (agent_id, job, priority, ready_at) VALUES (?, ?, ?, ?)')
      .run(valid.agentId, text, valid.priority, valid.readyAt)
  }

  async claim(owner: string, limit: number, leaseMs: number): Promise<ClaimedJob[]> {
    validateClaimArguments(owner, limit, leaseMs)
    return this.#db.write(() => {
      // Read inside the write transaction: the time is taken once the lock is held.
      const now = Date.now()
      const rows = this.#db
        .statement(
          `SELECT seq, agent_id, job, priority, ready_at, claimed_before FROM job_queue
           WHERE ready_at <= ? AND (owner IS NULL OR lease_until <= ?)
           ORDER BY priority DESC, seq LIMIT ?`,
        )
        .all(now, now, limit)
      const take = this.#db.statement(
        'UPDATE job_queue SET owner = ?, lease_until = ?, claimed_before = 1 WHERE seq = ?',
      )
      for (const row of rows) take.run(owner, now + leaseMs, row.seq as number)
      return rows.map(
        (row): ClaimedJob => ({
          agentId: row.agent_id as string,
          job: JSON.parse(row.job as string) as JsonValue,
          priority: row.priority as number,
          readyAt: row.ready_at as number,
          redelivered: row.claimed_before === 1,
        }),
      )
    })
  }

  async renew(owner: string, agentIds: string[], leaseMs: number): Promise<string[]> {
    validateRenewArguments(owner, agentIds, leaseMs)
    if (agentIds.length === 0) return []
    return this.#db.write(() => {
      const until = Date.now() + leaseMs
      const extend = this.#db.statement(
        'UPDATE job_queue SET lease_until = ? WHERE agent_id = ? AND owner = ?',
      )
      // A lease that ran out is still renewed while no other owner claimed the job meanwhile.
      return agentIds.filter((agentId) => Number(extend.run(until, agentId, owner).changes) === 0)
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
   * claimed one, when its lease runs out (if it is not renewed before).
   */
  async nextReadyAt(): Promise<number | undefined> {
    const row = this.#db.read(() =>
      this.#db
        .statement(
          `SELECT min(CASE WHEN owner IS NULL THEN ready_at ELSE max(ready_at, lease_until) END) AS at FROM job_queue`,
        )
        .get(),
    )
    return typeof row?.at === 'number' ? row.at : undefined
  }
}
