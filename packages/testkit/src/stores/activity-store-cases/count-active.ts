import { describe, expect, it } from 'vitest'
import type { StoreSuite } from './context.js'

/** `countActive`: queued, running and waiting activities only. */
export function countActiveCases(suite: StoreSuite): void {
  describe('countActive', () => {
    it('counts queued, running and waiting activities only', async () => {
      expect(await suite.store.countActive(), 'an empty store has no active activity').toBe(0)
      await suite.createIn('q', 'queued')
      await suite.createIn('r', 'running')
      await suite.createIn('w', 'waiting')
      await suite.createIn('c', 'complete')
      await suite.createIn('e', 'error')
      await suite.createIn('x', 'canceled')
      expect(
        await suite.store.countActive(),
        'countActive counts queued, running and waiting (a suspended run is unfinished), not final ones',
      ).toBe(3)
      await suite.store.append('r', { status: 'complete', message: 'Complete' })
      expect(await suite.store.countActive(), 'a running activity that completes is no longer active').toBe(2)
      await suite.store.append('q', { status: 'canceled', message: 'Canceled' })
      expect(await suite.store.countActive(), 'a queued activity that is canceled is no longer active').toBe(
        1,
      )
      await suite.store.append('w', { status: 'canceled', message: 'Canceled' })
      expect(await suite.store.countActive(), 'a waiting activity that is canceled is no longer active').toBe(
        0,
      )
    })

    it('counts waiting activities within a metadata scope', async () => {
      await suite.createIn('w1', 'waiting', { metadata: { tenant: 't1' } })
      await suite.createIn('w2', 'waiting', { metadata: { tenant: 't2' } })
      expect(
        await suite.store.countActive({ metadata: { tenant: 't1' } }),
        'countActive counts a waiting activity in its own scope only',
      ).toBe(1)
    })
  })
}
