/** How long a test waits for an event before failing. Generous for slow CI; a working store takes ms. */
export const DEFAULT_EVENT_TIMEOUT_MS = 2000

/**
 * Reads an async iterable step by step with a timeout on every wait, so that a store that never
 * delivers (or never ends) fails the test with what it did receive instead of hanging it.
 *
 * For core's own tests (the tracker, the SQLite store). The ActivityStore conformance suite lives in
 * `@runner/testkit` with its own reader: core cannot depend on the testkit, which depends on core.
 */
export class EventReader<T> {
  readonly #iterator: AsyncIterator<T>
  /** A `next()` still waiting from an earlier timed-out or `expectNone` wait: reused, never lost. */
  #pending: Promise<IteratorResult<T>> | undefined
  /** Every value read so far, in order. */
  readonly received: T[] = []

  constructor(iterable: AsyncIterable<T>) {
    this.#iterator = iterable[Symbol.asyncIterator]()
  }

  /** The next value; fails if the iterable ends or nothing arrives within `timeoutMs`. */
  async next(timeoutMs = DEFAULT_EVENT_TIMEOUT_MS): Promise<T> {
    const result = await this.#step(timeoutMs, 'the next event')
    if (result.done) {
      throw new Error(`The iterable ended after ${this.received.length} value(s); expected one more.`)
    }
    return result.value
  }

  /** The next `count` values, in order. */
  async take(count: number, timeoutMs = DEFAULT_EVENT_TIMEOUT_MS): Promise<T[]> {
    const values: T[] = []
    for (let index = 0; index < count; index++) values.push(await this.next(timeoutMs))
    return values
  }

  /** Fails unless the iterable ends (without yielding another value) within `timeoutMs`. */
  async expectEnd(timeoutMs = DEFAULT_EVENT_TIMEOUT_MS): Promise<void> {
    const result = await this.#step(timeoutMs, 'the end of the iterable')
    if (!result.done) {
      throw new Error(`Expected the iterable to end, but it yielded ${JSON.stringify(result.value)}.`)
    }
  }

  /** Fails if a value arrives (or the iterable ends) within `waitMs`. */
  async expectNone(waitMs: number): Promise<void> {
    this.#pending ??= this.#iterator.next()
    const pending = this.#pending
    let timer: ReturnType<typeof setTimeout> | undefined
    const outcome = await Promise.race([
      pending.then((result) => ({ result })),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), waitMs)
      }),
    ])
    clearTimeout(timer)
    if (outcome) {
      this.#pending = undefined
      if (!outcome.result.done) this.received.push(outcome.result.value)
      throw new Error(
        outcome.result.done
          ? 'Expected no event, but the iterable ended.'
          : `Expected no event, but got ${JSON.stringify(outcome.result.value)}.`,
      )
    }
  }

  /** Stops reading (like `break` in `for await`). */
  async return(): Promise<void> {
    this.#pending = undefined
    await this.#iterator.return?.()
  }

  async #step(timeoutMs: number, what: string): Promise<IteratorResult<T>> {
    this.#pending ??= this.#iterator.next()
    const pending = this.#pending
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `Timed out after ${timeoutMs} ms waiting for ${what}; received ${this.received.length} so far: ${JSON.stringify(this.received)}`,
            ),
          ),
        timeoutMs,
      )
    })
    try {
      const result = await Promise.race([pending, timeout])
      this.#pending = undefined
      if (!result.done) this.received.push(result.value)
      return result
    } finally {
      clearTimeout(timer)
    }
  }
}
