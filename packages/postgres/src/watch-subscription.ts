import type { ActivityEvent } from '@runner/core'
import type { WatchFilter } from '@runner/core/store'
import { cloneJson, matchesMetadata } from '@runner/core/store'

/** One change as delivery reads it: the log row id (commit order) and the event. */
export interface LogItem {
  id: number
  event: ActivityEvent
}

/**
 * One `watch` iteration: a queue of the changes delivered to it, in log order. It starts
 * *pending*: it buffers what delivery pushes, and yields nothing until `start(fromId)` says which
 * log row was the last one committed before the watch began; rows up to it are dropped.
 */
export class WatchSubscription implements AsyncIterable<ActivityEvent> {
  readonly filter: WatchFilter
  readonly #queue: LogItem[] = []
  #fromId: number | undefined
  #ended = false
  #wake: (() => void) | undefined
  /** Called once when the subscription ends (abort, early return, close). */
  onEnd: (() => void) | undefined

  constructor(filter: WatchFilter) {
    this.filter = filter
  }

  get ended(): boolean {
    return this.#ended
  }

  get pending(): boolean {
    return this.#fromId === undefined && !this.#ended
  }

  /** True when the change matches this watcher's filter. */
  accepts(item: LogItem): boolean {
    return (
      (this.filter.agentId === undefined || item.event.agentId === this.filter.agentId) &&
      matchesMetadata(item.event.activity.metadata, this.filter.metadata)
    )
  }

  push(item: LogItem): void {
    if (this.#ended || !this.accepts(item)) return
    if (this.#fromId !== undefined && item.id <= this.#fromId) return
    this.#queue.push(item)
    this.#wake?.()
  }

  /** Sets the last log id committed before the watch began (only the first call counts). */
  start(fromId: number): void {
    if (this.#fromId !== undefined) return
    this.#fromId = fromId
    this.#wake?.()
  }

  /** Moves the start back to `id` if it is after it (the log lost rows: a failover, a restore). */
  rewind(id: number): void {
    if (this.#fromId !== undefined && this.#fromId > id) this.#fromId = id
  }

  end(): void {
    if (this.#ended) return
    this.#ended = true
    this.#wake?.()
    this.onEnd?.()
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ActivityEvent> {
    try {
      while (true) {
        if (this.#fromId !== undefined) {
          const next = this.#queue.shift()
          if (next !== undefined) {
            // A copy per watcher: one consumer mutating its event cannot change what another sees.
            if (next.id > this.#fromId) yield cloneJson(next.event)
            continue
          }
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
