import { type ActivityEvent, RunnerError } from '@runner/core'
import { EventReader } from '@runner/core/test'
import { describe, expect, it } from 'vitest'
import type { StoreSuite } from './context.js'
import { errorText, expectRefused } from './expectations.js'
import { checkpointOf, journalEntryOf, trajectoryOf } from './fixtures.js'

/** `close`: idempotent; later writes refused with a RunnerError; a later watch ends or is refused. */
export function closeCases(suite: StoreSuite): void {
  describe('close', () => {
    it('refuses writes after close with a RunnerError, and can be called twice', async () => {
      await suite.create('a1')
      await suite.store.close()
      await suite.store.close()
      for (const [what, call] of [
        ['create after close', () => suite.create('a2')],
        ['append after close', () => suite.store.append('a1', { status: 'running', message: 'Started' })],
        ['saveTrajectory after close', () => suite.store.saveTrajectory('a1', trajectoryOf('a1'))],
        ['saveCheckpoint after close', () => suite.store.saveCheckpoint('a1', checkpointOf(1))],
        ['recordToolCall after close', () => suite.store.recordToolCall('a1', journalEntryOf('c1'))],
        ['decide after close', () => suite.store.decide('a1', 'call-1', { type: 'approve' })],
      ] as const) {
        const error = await expectRefused(call(), RunnerError, what)
        expect((error as Error).message, `the error of ${what} says the store is closed`).toMatch(/closed/i)
      }
    })

    it('ends a watch started after close, or refuses it', async () => {
      await suite.store.close()
      let iterable: AsyncIterable<ActivityEvent>
      try {
        iterable = suite.store.watch({}, new AbortController().signal)
      } catch (error) {
        expect(
          RunnerError.isInstance(error),
          `watch after close may throw, but a RunnerError; ${errorText(error)}`,
        ).toBe(true)
        return
      }
      await new EventReader(iterable, 'store.watch() after close').expectEnd()
    })
  })
}
