import { ActivityNotFoundError, type Trajectory } from '@runner/core'
import { describe, expect, it } from 'vitest'
import type { StoreSuite } from './context.js'
import { expectRefused } from './expectations.js'
import { trajectoryOf } from './fixtures.js'

/** `saveTrajectory` and `getTrajectory`: saved, replaced, kept apart, refused for an unknown id. */
export function trajectoryCases(suite: StoreSuite): void {
  describe('trajectories', () => {
    it('returns undefined until one is saved, then the saved one, then its replacement', async () => {
      await suite.createIn('a1', 'complete')
      expect(await suite.store.getTrajectory('a1'), 'no trajectory before one is saved').toBeUndefined()
      expect(await suite.store.getTrajectory('missing'), 'no trajectory for an unknown id').toBeUndefined()
      const first = trajectoryOf('a1')
      await suite.store.saveTrajectory('a1', first)
      expect(
        await suite.store.getTrajectory('a1'),
        'getTrajectory returns the trajectory saved, as JSON',
      ).toEqual(first)
      const second: Trajectory = { ...trajectoryOf('a1'), status: 'error', steps: [] }
      await suite.store.saveTrajectory('a1', second)
      expect(
        await suite.store.getTrajectory('a1'),
        'saveTrajectory replaces the previous trajectory',
      ).toEqual(second)
    })

    it('keeps trajectories apart per activity', async () => {
      await suite.create('a1')
      await suite.create('a2')
      await suite.store.saveTrajectory('a1', trajectoryOf('a1'))
      await suite.store.saveTrajectory('a2', { ...trajectoryOf('a2'), status: 'canceled' })
      expect((await suite.store.getTrajectory('a1'))?.status, 'each activity keeps its own trajectory').toBe(
        'complete',
      )
      expect((await suite.store.getTrajectory('a2'))?.status, 'each activity keeps its own trajectory').toBe(
        'canceled',
      )
    })

    it('refuses to save the trajectory of an unknown activity', async () => {
      await expectRefused(
        suite.store.saveTrajectory('missing', trajectoryOf('missing')),
        ActivityNotFoundError,
        'saveTrajectory for an unknown agentId',
      )
      expect(
        await suite.store.getTrajectory('missing'),
        'a refused saveTrajectory stores nothing',
      ).toBeUndefined()
    })
  })
}
