import { describe, expect, it } from 'vitest'
import { type BatchOutcome, GroupCommit } from './group-commit.js'

describe('GroupCommit', () => {
  it('writes the items submitted in one tick as one batch, each promise with its own value', async () => {
    const batches: number[][] = []
    const commit = new GroupCommit<number, number>({
      write: (batch) => {
        batches.push([...batch])
        return batch.map((item) => ({ ok: true, value: item * 10 }))
      },
    })
    const results = await Promise.all([1, 2, 3].map((item) => commit.submit(item)))
    expect(results).toEqual([10, 20, 30])
    expect(batches).toEqual([[1, 2, 3]])
  })

  it('gathers what arrives while a batch is in flight into the next batch, in submission order', async () => {
    const batches: number[][] = []
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const commit = new GroupCommit<number, number>({
      write: async (batch) => {
        batches.push([...batch])
        if (batches.length === 1) await gate
        return batch.map((item) => ({ ok: true, value: item }))
      },
    })
    const first = commit.submit(1)
    await Promise.resolve()
    await Promise.resolve()
    const later = [2, 3, 4].map((item) => commit.submit(item))
    expect(commit.pending).toBe(4)
    release()
    await Promise.all([first, ...later])
    expect(batches).toEqual([[1], [2, 3, 4]])
    await commit.idle()
    expect(commit.pending).toBe(0)
  })

  it('rejects only the item refused on its own, and every item of a batch whose write throws', async () => {
    let fail = false
    const commit = new GroupCommit<string, string>({
      write: (batch) => {
        if (fail) throw new Error('commit failed')
        return batch.map(
          (item): BatchOutcome<string> =>
            item === 'bad' ? { ok: false, error: new Error(`refused ${item}`) } : { ok: true, value: item },
        )
      },
    })
    const outcomes = await Promise.allSettled(['a', 'bad', 'c'].map((item) => commit.submit(item)))
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((outcomes[1] as PromiseRejectedResult).reason).toEqual(new Error('refused bad'))
    fail = true
    const failed = await Promise.allSettled(['x', 'y'].map((item) => commit.submit(item)))
    expect(failed.map((outcome) => (outcome as PromiseRejectedResult).reason?.message)).toEqual([
      'commit failed',
      'commit failed',
    ])
    fail = false
    await expect(commit.submit('after')).resolves.toBe('after')
  })

  it('splits a queue longer than maxBatch into batches of at most maxBatch', async () => {
    const sizes: number[] = []
    const commit = new GroupCommit<number, number>({
      maxBatch: 4,
      write: (batch) => {
        sizes.push(batch.length)
        return batch.map((value) => ({ ok: true, value }))
      },
    })
    const results = await Promise.all(Array.from({ length: 10 }, (_, index) => commit.submit(index)))
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(sizes).toEqual([4, 4, 2])
    expect(() => new GroupCommit({ maxBatch: 0, write: () => [] })).toThrow(/maxBatch/)
  })
})
