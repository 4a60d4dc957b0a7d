/**
 * A binary min-heap: `shift` returns the item that `compare` orders first. `push` and `shift` are
 * O(log n); `delete` is O(n) (a lookup, then O(log n)), which is fine for cancels.
 */
export class PriorityQueue<T> {
  readonly #items: T[] = []
  readonly #compare: (a: T, b: T) => number

  /** `compare(a, b)` is negative when `a` must come out first. */
  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare
  }

  get size(): number {
    return this.#items.length
  }

  push(item: T): void {
    this.#items.push(item)
    this.#siftUp(this.#items.length - 1)
  }

  /** The first item, left in place, or `undefined` when empty. */
  peek(): T | undefined {
    return this.#items[0]
  }

  /** Removes and returns the first item, or `undefined` when empty. */
  shift(): T | undefined {
    return this.#removeAt(0)
  }

  /** Removes `item` (compared by identity); `true` if it was there. */
  delete(item: T): boolean {
    const index = this.#items.indexOf(item)
    if (index < 0) return false
    this.#removeAt(index)
    return true
  }

  /** Removes and returns every item, in queue order. */
  drain(): T[] {
    const drained: T[] = []
    for (let item = this.shift(); item !== undefined; item = this.shift()) drained.push(item)
    return drained
  }

  #removeAt(index: number): T | undefined {
    const items = this.#items
    if (index >= items.length) return undefined
    const removed = items[index]
    const last = items.pop() as T
    if (index < items.length) {
      items[index] = last
      this.#siftDown(index)
      this.#siftUp(index)
    }
    return removed
  }

  #siftUp(start: number): void {
    const items = this.#items
    let index = start
    while (index > 0) {
      const parent = (index - 1) >> 1
      if (this.#compare(items[index] as T, items[parent] as T) >= 0) return
      this.#swap(index, parent)
      index = parent
    }
  }

  #siftDown(start: number): void {
    const items = this.#items
    let index = start
    while (true) {
      const left = index * 2 + 1
      const right = left + 1
      let first = index
      if (left < items.length && this.#compare(items[left] as T, items[first] as T) < 0) first = left
      if (right < items.length && this.#compare(items[right] as T, items[first] as T) < 0) first = right
      if (first === index) return
      this.#swap(index, first)
      index = first
    }
  }

  #swap(a: number, b: number): void {
    const items = this.#items
    const held = items[a] as T
    items[a] = items[b] as T
    items[b] = held
  }
}
