/** The outcome of one item of a batch: its value, or the error that refused it alone. */
export type BatchOutcome<R> = { ok: true; value: R } | { ok: false; error: unknown }

/** Options of `GroupCommit`. */
export interface GroupCommitOptions<T, R> {
  /**
   * Writes a batch, in one transaction, and returns one outcome per item, in the order given. An
   * item refused on its own (an illegal move, a missing row) gets `{ ok: false }` and leaves the
   * others alone; a thrown error (the commit failed, the connection broke) fails every item of the
   * batch. Called with one batch at a time, never while another is in flight.
   */
  write: (batch: readonly T[]) => Promise<readonly BatchOutcome<R>[]> | readonly BatchOutcome<R>[]
  /** The most items written together; the rest wait for the next batch. Default 1000. */
  maxBatch?: number
}

interface Waiting<T, R> {
  item: T
  resolve: (value: R) => void
  reject: (error: unknown) => void
}

/**
 * Group commit: items submitted while a batch is being written (or in the same tick as the first
 * one) go out together in the next batch, so N concurrent writers pay for one transaction instead
 * of N. Each `submit` resolves only after the batch holding its item has been written (committed),
 * with that item's own outcome; a failed batch rejects every item in it and none after it.
 *
 * Order: items are written in submission order, batch after batch, so two writes of one caller
 * (or of one row) keep their order.
 */
export class GroupCommit<T, R> {
  readonly #write: GroupCommitOptions<T, R>['write']
  readonly #maxBatch: number
  #queue: Waiting<T, R>[] = []
  #busy = false
  #idle: (() => void)[] = []

  constructor(options: GroupCommitOptions<T, R>) {
    this.#write = options.write
    this.#maxBatch = options.maxBatch ?? 1000
    if (!Number.isInteger(this.#maxBatch) || this.#maxBatch < 1) {
      throw new RangeError(`GroupCommit maxBatch must be a positive integer, got ${options.maxBatch}`)
    }
  }

  /** Items waiting for a batch or in the batch being written. */
  get pending(): number {
    return this.#queue.length + (this.#busy ? 1 : 0)
  }

  /** Queues `item` for the next batch; resolves with its outcome once that batch is written. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject })
      if (!this.#busy) {
        this.#busy = true
        // After the current tick: the writers that resume together join one batch.
        queueMicrotask(() => void this.#drain())
      }
    })
  }

  /** Resolves once nothing is queued or being written (for a store's `close`). */
  idle(): Promise<void> {
    if (!this.#busy) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.length <= this.#maxBatch ? this.#queue : this.#queue.slice(0, this.#maxBatch)
      this.#queue = batch === this.#queue ? [] : this.#queue.slice(this.#maxBatch)
      let outcomes: readonly BatchOutcome<R>[]
      try {
        outcomes = await this.#write(batch.map((waiting) => waiting.item))
      } catch (error) {
        for (const waiting of batch) waiting.reject(error)
        continue
      }
      batch.forEach((waiting, index) => {
        const outcome = outcomes[index]
        if (!outcome) {
          waiting.reject(new Error(`GroupCommit: the batch writer returned no outcome for item ${index}`))
        } else if (outcome.ok) {
          waiting.resolve(outcome.value)
        } else {
          waiting.reject(outcome.error)
        }
      })
    }
    this.#busy = false
    const idle = this.#idle
    this.#idle = []
    for (const resolve of idle) resolve()
  }
}
