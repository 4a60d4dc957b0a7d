/** How long one wait for an event lasts before the test fails. Generous for slow CI; a working store takes milliseconds. */
export const DEFAULT_EVENT_TIMEOUT_MS = 2000

const TIMED_OUT = Symbol('timed out')

/**
 * Reads an async iterable (a store's `watch()`) one value at a time, with a time limit on every
 * wait, so that a store that never delivers, or never ends, fails the test with what it did
 * deliver instead of hanging it.
 */
export class EventReader<T> {
  /** Every value read so far, in order. */
  readonly received: T[] = []
  readonly #iterator: AsyncIterator<T>
  readonly #label: string
  /** A `next()` that outlived a timed-out wait: the following wait reuses it, so no value is lost. */
  #pending: Promise<IteratorResult<T>> | undefined

  /** `label` names the iterable in failure messages, such as `store.watch({"agentId":"a1"})`. */
  constructor(iterable: AsyncIterable<T>, label = 'the iterable') {
    this.#iterator = iterable[Symbol.asyncIterator]()
    this.#label = label
  }

  /** The next value; fails if the iterable ends, or nothing arrives within `timeoutMs`. */
  async next(timeoutMs = DEFAULT_EVENT_TIMEOUT_MS): Promise<T> {
    const outcome = await this.#wait(timeoutMs)
    if (outcome === TIMED_OUT) {
      throw new Error(`${this.#label} delivered no event within ${timeoutMs} ms. ${this.#history()}`)
    }
    if (outcome.done)
      throw new Error(`${this.#label} ended, but one more event was expected. ${this.#history()}`)
    return outcome.value
  }

  /** The next `count` values, in order; each wait has its own `timeoutMs`. */
  async take(count: number, timeoutMs = DEFAULT_EVENT_TIMEOUT_MS): Promise<T[]> {
    const values: T[] = []
    while (values.length < count) values.push(await this.next(timeoutMs))
    return values
  }

  /** Fails unless the iterable ends, without yielding another value, within `timeoutMs`. */
  async expectEnd(timeoutMs = DEFAULT_EVENT_TIMEOUT_MS): Promise<void> {
    const outcome = await this.#wait(timeoutMs)
    if (outcome === TIMED_OUT) {
      throw new Error(`${this.#label} should have ended, but was still open after ${timeoutMs} ms.`)
    }
    if (!outcome.done) {
      throw new Error(`${this.#label} should have ended, but yielded ${preview(outcome.value)}.`)
    }
  }

  /** Fails if a value arrives, or the iterable ends, within `waitMs`. */
  async expectNone(waitMs: number): Promise<void> {
    const outcome = await this.#wait(waitMs)
    if (outcome === TIMED_OUT) return
    throw new Error(
      outcome.done
        ? `${this.#label} should have stayed open and silent for ${waitMs} ms, but ended.`
        : `${this.#label} should have delivered nothing more, but yielded ${preview(outcome.value)}.`,
    )
  }

  /** Stops reading, like `break` in `for await`. */
  async return(): Promise<void> {
    this.#pending = undefined
    await this.#iterator.return?.()
  }

  async #wait(timeoutMs: number): Promise<IteratorResult<T> | typeof TIMED_OUT> {
    this.#pending ??= this.#iterator.next()
    let timer: ReturnType<typeof setTimeout> | undefined
    const outcome = await Promise.race([
      this.#pending,
      new Promise<typeof TIMED_OUT>((resolve) => {
        timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs)
      }),
    ]).finally(() => clearTimeout(timer))
    if (outcome !== TIMED_OUT) {
      this.#pending = undefined
      if (!outcome.done) this.received.push(outcome.value)
    }
    return outcome
  }

  #history(): string {
    if (this.received.length === 0) return 'Nothing was received before.'
    const last = this.received.slice(-5).map(preview).join(', ')
    return `Received ${this.received.length} event(s) before; the last: ${last}.`
  }
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 300 ? `${text.slice(0, 300)}...` : text
}
