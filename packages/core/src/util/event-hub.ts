/**
 * A tiny in-process broadcaster. `subscribe` returns an async iterable that receives every value
 * published after the call, buffered per subscriber, until `signal` aborts or the hub closes.
 */
export class EventHub<T> {
  readonly #subscribers = new Set<Subscriber<T>>()
  #closed = false

  /** Number of live subscribers. */
  get size(): number {
    return this.#subscribers.size
  }

  publish(value: T): void {
    for (const subscriber of this.#subscribers) subscriber.push(value)
  }

  /** Ends every subscription. */
  close(): void {
    this.#closed = true
    for (const subscriber of this.#subscribers) subscriber.end()
    this.#subscribers.clear()
  }

  subscribe(signal: AbortSignal, accept: (value: T) => boolean = () => true): AsyncIterable<T> {
    const subscriber = new Subscriber<T>(accept)
    if (this.#closed || signal.aborted) {
      subscriber.end()
    } else {
      this.#subscribers.add(subscriber)
      const onAbort = () => {
        this.#subscribers.delete(subscriber)
        subscriber.end()
      }
      signal.addEventListener('abort', onAbort, { once: true })
      subscriber.onEnd = () => {
        signal.removeEventListener('abort', onAbort)
        this.#subscribers.delete(subscriber)
      }
    }
    return subscriber
  }
}

class Subscriber<T> implements AsyncIterable<T> {
  readonly #queue: T[] = []
  #ended = false
  #wake: (() => void) | undefined
  onEnd: (() => void) | undefined
  readonly #accept: (value: T) => boolean

  constructor(accept: (value: T) => boolean) {
    this.#accept = accept
  }

  push(value: T): void {
    if (this.#ended || !this.#accept(value)) return
    this.#queue.push(value)
    this.#wake?.()
  }

  end(): void {
    if (this.#ended) return
    this.#ended = true
    this.#wake?.()
    this.onEnd?.()
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    try {
      while (true) {
        const next = this.#queue.shift()
        if (next !== undefined) {
          yield next
          continue
        }
        if (this.#ended) return
        await new Promise<void>((resolve) => {
          this.#wake = resolve
        })
        this.#wake = undefined
      }
    } finally {
      this.end()
    }
  }
}
