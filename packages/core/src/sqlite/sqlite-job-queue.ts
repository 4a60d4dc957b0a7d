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
 * queued, a claim reads the unkeyed jobs in index order, as it always did. Otherwise it reads the
 * first claimable job of each group (`job_queue_groups` lists the keyed groups that have jobs),
 * counts each group's jobs in flight, takes the best head slot by slot and records the turn of
 * each group it served; the same write transaction makes the limit hold across processes.
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
    if (valid.concurrencyKey !== undefined) {
      // The group is listed while it has jobs (a fair claim finds the groups here), with a turn
      // before every served group's, in the order of its first job (see NEVER_SERVED).
      this.#db
        .statement(
          `INSERT INTO job_queue_groups (concurrency_key, last_turn) VALUES (?, last_insert_rowid() + ?)
           ON CONFLICT DO NOTHING`,
        )
        .run(valid.concurrencyKey, NEVER_SERVED)
    }
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
   * The head (first claimable job: seq, priority, limit) of each group a claim of `limit` jobs may
   * take from, with the group's turn. When every queued job has one priority (two index probes
   * tell), the order is jobs in flight, then turn: groups are read in turn order (the unkeyed
   * group first, whatever its turn) and the reading stops once `limit` keyed groups with none in
   * flight and a claimable job were found, since every group after them loses to them. Otherwise, or when that
   * never happens, every group is read (one probe of the covering index each).
   */
  #heads(now: number, limit: number, busy: Map<string, number>): Record<string, unknown>[] {
    const claimable = 'ready_at <= :now AND (owner IS NULL OR lease_until <= :now)'
    const levels = this.#db
      .statement(
        'SELECT (SELECT min(priority) FROM job_queue) AS lo, (SELECT max(priority) FROM job_queue) AS hi',
      )
      .get()
    if (levels?.lo !== levels?.hi) {
      return this.#db
        .statement(
          `SELECT h.k, h.turn, j.seq, j.priority, j.concurrency_limit AS cap FROM (
             SELECT g.concurrency_key AS k, g.last_turn AS turn,
                    (SELECT seq FROM job_queue WHERE concurrency_key = g.concurrency_key AND ${claimable}
                     ORDER BY priority DESC, seq LIMIT 1) AS seq
             FROM job_queue_groups g WHERE g.concurrency_key > ''
             UNION ALL
             SELECT '', (SELECT last_turn FROM job_queue_groups WHERE concurrency_key = ''),
                    (SELECT seq FROM job_queue WHERE concurrency_key = '' AND ${claimable}
                     ORDER BY priority DESC, seq LIMIT 1)
           ) h JOIN job_queue j ON j.seq = h.seq`,
        )
        .all({ now })
    }
    const head = this.#db.statement(
      `SELECT seq, priority, concurrency_limit AS cap FROM job_queue
       WHERE concurrency_key = :k AND ${claimable} ORDER BY priority DESC, seq LIMIT 1`,
    )
    const unkeyedTurn = this.#db
      .statement(`SELECT last_turn AS turn FROM job_queue_groups WHERE concurrency_key = ''`)
      .get()?.turn
    const groups = [
      { k: '', turn: unkeyedTurn ?? null },
      ...this.#db
        .statement(
          `SELECT concurrency_key AS k, last_turn AS turn FROM job_queue_groups
           WHERE concurrency_key > '' ORDER BY last_turn`,
        )
        .all(),
    ]
    const found: Record<string, unknown>[] = []
    let idle = 0
    for (const [index, group] of groups.entries()) {
      // In turn order, `limit` idle groups are enough: every group after them loses to them.
      if (index > 0 && idle >= limit) break
      const row = head.get({ k: group.k as string, now })
      if (!row) continue
      found.push({ ...row, k: group.k, turn: group.turn ?? NEVER_SERVED + (row.seq as number) })
      // The unkeyed group (read first, whatever its turn) does not count toward the stop.
      if (index > 0 && (busy.get(group.k as string) ?? 0) === 0) idle++
    }
    return found
  }

  /**
   * The jobs of a fair claim, in claim order, inside the claim's write transaction. The head of
   * each group (its first claimable job: `job_queue_groups` lists the keyed groups that have
   * jobs, and the unkeyed jobs are one more group) is read through the index on (group, priority,
   * push order); the claim then takes, `limit` times, the best head: highest priority, then fewest
   * jobs in flight plus taken by this claim, then the group served least recently, then push
   * order, skipping a group at its limit; the group's next job becomes its head. Records the turn
   * of each group served.
   */
  #fairPick(now: number, limit: number): Record<string, unknown>[] {
    const claimable = 'ready_at <= :now AND (owner IS NULL OR lease_until <= :now)'
    const busy = new Map<string, number>()
    for (const row of this.#db
      .statement(
        `SELECT concurrency_key AS k, count(*) AS n FROM job_queue
         WHERE owner IS NOT NULL AND lease_until > ? GROUP BY concurrency_key`,
      )
      .all(now))
      busy.set(row.k as string, row.n as number)
    const heads = this.#heads(now, limit, busy)
    const next = this.#db.statement(
      `SELECT seq, priority, concurrency_limit AS cap FROM job_queue
       WHERE concurrency_key = :k AND ${claimable}
         AND (priority < :priority OR (priority = :priority AND seq > :seq))
       ORDER BY priority DESC, seq LIMIT 1`,
    )
    interface Head {
      k: string
      turn: number
      /** Jobs of the group in flight, plus taken by this claim. */
      held: number
      seq: number
      priority: number
      cap: number | null
    }
    const live: Head[] = heads.map((head) => {
      const k = head.k as string
      return {
        k,
        turn: (head.turn as number | null) ?? NEVER_SERVED + (head.seq as number),
        held: busy.get(k) ?? 0,
        seq: head.seq as number,
        priority: head.priority as number,
        cap: head.cap as number | null,
      }
    })
    const before = (a: Head, b: Head) => {
      if (a.priority !== b.priority) return a.priority > b.priority
      if (a.held !== b.held) return a.held < b.held
      if (a.turn !== b.turn) return a.turn < b.turn
      return a.seq < b.seq
    }
    const taken: Array<{ seq: number; k: string }> = []
    while (taken.length < limit) {
      let best: Head | undefined
      for (const head of live) {
        if (head.cap !== null && head.held >= head.cap) continue
        if (!best || before(head, best)) best = head
      }
      if (!best) break
      taken.push({ seq: best.seq, k: best.k })
      best.held++
      const following = next.get({ k: best.k, now, priority: best.priority, seq: best.seq })
      if (following) {
        best.seq = following.seq as number
        best.priority = following.priority as number
        best.cap = following.cap as number | null
      } else live.splice(live.indexOf(best), 1)
    }
    const read = this.#db.statement(
      `SELECT seq, agent_id, job, priority, ready_at, claimed_before, concurrency_key, concurrency_limit
       FROM job_queue WHERE seq = ?`,
    )
    const picked = taken.map((item) => read.get(item.seq) as Record<string, unknown>)
    if (picked.length === 0) return picked
    const first =
      Math.max(
        (this.#db.statement('SELECT max(last_turn) AS turn FROM job_queue_groups').get()?.turn as
          | number
          | null) ?? 0,
        0,
      ) + 1
    const served = this.#db.statement(
      `INSERT INTO job_queue_groups (concurrency_key, last_turn) VALUES (?, ?)
       ON CONFLICT (concurrency_key) DO UPDATE SET last_turn = excluded.last_turn`,
    )
    picked.forEach((row, index) => {
      served.run(row.concurrency_key as string, first + index)
    })
    return picked
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
    return this.#db.write(() => {
      const removed = this.#db
        .statement('DELETE FROM job_queue WHERE agent_id = ? RETURNING concurrency_key')
        .get(agentId)
      if (!removed) return false
      const key = removed.concurrency_key as string
      if (key !== '') {
        // A group without jobs is no longer listed (nor its turn kept).
        this.#db
          .statement(
            `DELETE FROM job_queue_groups WHERE concurrency_key = ?
             AND NOT EXISTS (SELECT 1 FROM job_queue WHERE concurrency_key = ?)`,
          )
          .run(key, key)
      }
      return true
    })
  }

  /**
   * The earliest time a claim can return a job: the ready time of an unclaimed job, or, for a
   * claimed one, when its lease runs out (if it is not renewed before); for a job whose group has
   * its `concurrencyLimit` of jobs in flight, when the first of their leases runs out.
   */
  async nextReadyAt(): Promise<number | undefined> {
    const row = this.#db.read(() => {
      const now = Date.now()
      // Groups with their limit of jobs in flight (few: at most the jobs in flight).
      const full = this.#hasKeyedJobs()
        ? this.#db
            .statement(
              `SELECT concurrency_key AS k, min(lease_until) AS first_end FROM job_queue
               WHERE owner IS NOT NULL AND concurrency_key > '' AND lease_until > ?
               GROUP BY concurrency_key HAVING count(*) >= max(concurrency_limit)`,
            )
            .all(now)
        : []
      const earliest = 'min(CASE WHEN owner IS NULL THEN ready_at ELSE max(ready_at, lease_until) END)'
      if (full.length === 0) {
        return this.#db.statement(`SELECT ${earliest} AS at FROM job_queue`).get()
      }
      // A job of a full group: not before the first of its group's leases ends.
      return this.#db
        .statement(
          `SELECT min(at) AS at FROM (
             SELECT ${earliest} AS at FROM job_queue
             WHERE concurrency_key NOT IN (SELECT value ->> 'k' FROM json_each(:full))
             UNION ALL
             SELECT max(min(j.ready_at), f.value ->> 'first_end') FROM json_each(:full) f
             JOIN job_queue j ON j.concurrency_key = f.value ->> 'k' GROUP BY f.value ->> 'k'
           )`,
        )
        .get({ full: JSON.stringify(full.map((item) => ({ k: item.k, first_end: item.first_end }))) })
    })
    return typeof row?.at === 'number' ? row.at : undefined
  }
}

/**
 * The turn of a group never served: this plus the push order (`seq`) of its first job, below every
 * served group's turn (1, 2, ...), so that groups never served go first, oldest first.
 */
const NEVER_SERVED = -(2 ** 52)

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
