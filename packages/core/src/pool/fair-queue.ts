import { PriorityQueue } from './priority-queue.js'
import type { PoolJob } from './types.js'

/** A job waiting in the local engine's queue. */
export interface ReadyEntry {
  job: PoolJob
  /** Order of arrival in the ready queue: first-in first-out within a priority. */
  seq: number
}

interface Group {
  readonly id: string
  readonly ready: PriorityQueue<ReadyEntry>
  /** Most jobs of this group running at once (Infinity: only the pool's `concurrency`). */
  limit: number
  running: number
  /** The turn at which this group last started a job (-1: never, since it was created). */
  turn: number
}

const byPriorityThenArrival = (a: ReadyEntry, b: ReadyEntry) =>
  b.job.priority - a.job.priority || a.seq - b.seq

/**
 * The local engine's ready queue, fair across concurrency keys. Jobs are grouped by task and
 * `concurrencyKey` (jobs without a key form one group of their own). `shift` returns the job to
 * start next: the highest priority among the groups below their `concurrencyLimit`; among groups
 * whose first job has that priority, the group that started a job least recently (round-robin);
 * within a group, priority then first-in first-out. So while a key has runnable jobs, every other
 * key starts at most one job of the same priority between two of its starts.
 *
 * `push` is O(log n); `shift` is O(k + log n) for k groups with queued or running jobs.
 */
export class FairQueue {
  readonly #groups = new Map<string, Group>()
  #turn = 0
  #size = 0

  /** Jobs waiting (not running). */
  get size(): number {
    return this.#size
  }

  push(entry: ReadyEntry): void {
    const group = this.#group(entry.job)
    group.ready.push(entry)
    this.#size++
  }

  /** Removes a waiting entry (by identity); `true` if it was there. */
  delete(entry: ReadyEntry): boolean {
    const id = groupId(entry.job)
    const group = this.#groups.get(id)
    if (!group?.ready.delete(entry)) return false
    this.#size--
    this.#forgetIfIdle(group)
    return true
  }

  /** Removes and returns the next job to start, counted as running in its group; `undefined` when none may start. */
  shift(): ReadyEntry | undefined {
    let best: Group | undefined
    let bestHead: ReadyEntry | undefined
    for (const group of this.#groups.values()) {
      if (group.running >= group.limit) continue
      const head = group.ready.peek()
      if (!head) continue
      if (!best || !bestHead || this.#before(group, head, best, bestHead)) {
        best = group
        bestHead = head
      }
    }
    if (!best) return undefined
    const entry = best.ready.shift() as ReadyEntry
    best.running++
    best.turn = this.#turn++
    this.#size--
    return entry
  }

  /** A job returned by `shift` ended: its group may start another. */
  ended(job: PoolJob): void {
    const group = this.#groups.get(groupId(job))
    if (!group) return
    group.running--
    this.#forgetIfIdle(group)
  }

  /** The running and waiting counts and the limit of a job's group (for messages). */
  usage(job: PoolJob): { running: number; waiting: number; limit: number } {
    const group = this.#groups.get(groupId(job))
    return {
      running: group?.running ?? 0,
      waiting: group?.ready.size ?? 0,
      limit: group?.limit ?? Number.POSITIVE_INFINITY,
    }
  }

  /** Removes and returns every waiting entry, in arrival order. */
  drain(): ReadyEntry[] {
    const drained: ReadyEntry[] = []
    for (const group of this.#groups.values()) {
      drained.push(...group.ready.drain())
      this.#forgetIfIdle(group)
    }
    this.#size = 0
    return drained.sort((a, b) => a.seq - b.seq)
  }

  #before(group: Group, head: ReadyEntry, best: Group, bestHead: ReadyEntry): boolean {
    if (head.job.priority !== bestHead.job.priority) return head.job.priority > bestHead.job.priority
    if (group.turn !== best.turn) return group.turn < best.turn
    return head.seq < bestHead.seq
  }

  #group(job: PoolJob): Group {
    const id = groupId(job)
    let group = this.#groups.get(id)
    if (!group) {
      group = { id, ready: new PriorityQueue(byPriorityThenArrival), limit: 0, running: 0, turn: -1 }
      this.#groups.set(id, group)
    }
    group.limit =
      job.concurrencyKey === undefined
        ? Number.POSITIVE_INFINITY
        : (job.concurrencyLimit ?? Number.POSITIVE_INFINITY)
    return group
  }

  #forgetIfIdle(group: Group): void {
    if (group.running === 0 && group.ready.size === 0) this.#groups.delete(group.id)
  }
}

/** Keys are per task: `["task","key"]`; jobs without a key share the group `""`. */
function groupId(job: PoolJob): string {
  return job.concurrencyKey === undefined ? '' : JSON.stringify([job.task, job.concurrencyKey])
}
