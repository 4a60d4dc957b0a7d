import { describe, expect, it } from 'vitest'
import { PriorityQueue } from './priority-queue.js'

interface Item {
  name: string
  priority: number
  seq: number
}

const byPriorityThenSeq = (a: Item, b: Item) => b.priority - a.priority || a.seq - b.seq

describe('PriorityQueue', () => {
  it('shifts by priority, then first-in first-out', () => {
    const queue = new PriorityQueue(byPriorityThenSeq)
    const priorities = [0, 5, 0, -1, 5, 2, 0, 9, -1, 2]
    for (const [seq, priority] of priorities.entries())
      queue.push({ name: `${priority}#${seq}`, priority, seq })
    expect(queue.size).toBe(priorities.length)
    expect(queue.drain().map((item) => item.name)).toEqual([
      '9#7',
      '5#1',
      '5#4',
      '2#5',
      '2#9',
      '0#0',
      '0#2',
      '0#6',
      '-1#3',
      '-1#8',
    ])
    expect(queue.shift()).toBeUndefined()
  })

  it('deletes any item and keeps the order of the rest', () => {
    const queue = new PriorityQueue(byPriorityThenSeq)
    const items = Array.from({ length: 50 }, (_, seq) => ({
      name: String(seq),
      priority: (seq * 7) % 5,
      seq,
    }))
    for (const item of items) queue.push(item)
    const removed = items.filter((_, index) => index % 3 === 0)
    for (const item of removed) expect(queue.delete(item)).toBe(true)
    expect(queue.delete(removed[0] as Item)).toBe(false)
    const expected = items.filter((item) => !removed.includes(item)).sort(byPriorityThenSeq)
    expect(queue.drain()).toEqual(expected)
  })
})
