import { describe, expect, it } from 'vitest'
import type { StoreSuite } from './context.js'

/** `countActive`: queued and running activities only. */
export function countActiveCases(suite: StoreSuite): void {
  describe('countActive', () => {
    it('counts queued and running activities only', async () => {
      expect(await suite.store.countActive(), 'an empty store has no active activity').toBe(0)
      await suite.createIn('q', 'queued')
      await suite.createIn('r', 'running')
      await suite.createIn('c', 'complete')
      await suite.createIn('e', 'error')
      await suite.createIn('x', 'canceled')
      expect(await suite.store.countActive(), 'countActive counts queued and running, not final ones').toBe(2)
      await suite.store.append('r', { status: 'complete', message: 'Complete' })
      expect(await suite.store.countActive(), 'a running activity that completes is no longer active').toBe(1)
      await suite.store.append('q', { status: 'canceled', message: 'Canceled' })
      expect(await suite.store.countActive(), 'a queued activity that is canceled is no longer active').toBe(
        0,
      )
    })
  })
}
