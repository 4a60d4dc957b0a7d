import { EventReader } from '@runner/core/test'
import { describe, expect, it } from 'vitest'
import type { StoreSuite } from './context.js'
import { mutate, trajectoryOf } from './fixtures.js'

/** What a store hands out, and what it is given, are copies: mutating them never changes the store. */
export function isolationCases(suite: StoreSuite): void {
  describe('isolation of returned objects', () => {
    it('is not changed by mutating what create, append, get or list return, or the input', async () => {
      const metadata: Record<string, unknown> = { tenant: 't1', tags: ['a'] }
      const created = await suite.create('a1', { metadata })
      metadata.tenant = 'hacked'
      ;(metadata.tags as string[]).push('b')
      mutate(created)
      const appended = await suite.store.append('a1', {
        status: 'running',
        message: 'Started',
        percentage: 10,
        attempt: 1,
        kind: 'lifecycle',
      })
      const snapshot = structuredClone(appended)
      mutate(appended)
      mutate((await suite.store.get('a1'))!)
      for (const item of (await suite.store.list()).items) mutate(item)
      expect(
        await suite.store.get('a1'),
        'mutating returned activities, their log entries or the create input changes nothing stored',
      ).toEqual(snapshot)
      expect(snapshot.metadata, 'metadata is copied when the activity is created').toEqual({
        tenant: 't1',
        tags: ['a'],
      })
    })

    it('is not changed by mutating a trajectory after saving it or after reading it', async () => {
      await suite.create('a1')
      const trajectory = trajectoryOf('a1')
      const saved = structuredClone(trajectory)
      await suite.store.saveTrajectory('a1', trajectory)
      trajectory.steps.push({ ...trajectory.steps[0]!, index: 9 })
      trajectory.usage.totalTokens = 0
      const read = (await suite.store.getTrajectory('a1'))!
      read.steps.length = 0
      read.status = 'error'
      expect(
        await suite.store.getTrajectory('a1'),
        'mutating a trajectory after saving or reading it changes nothing stored',
      ).toEqual(saved)
    })

    it('is not changed by mutating a watch event', async () => {
      const controller = new AbortController()
      const reader = new EventReader(suite.store.watch({}, controller.signal), 'store.watch({})')
      const created = await suite.create('a1', { metadata: { tenant: 't1' } })
      const event = await reader.next()
      event.activity.metadata.tenant = 'hacked'
      event.activity.status = 'complete'
      event.entry.message = 'hacked'
      event.entry.kind = 'approval'
      expect(await suite.store.get('a1'), 'mutating a watch event changes nothing stored').toEqual(created)
      await suite.store.append('a1', { status: 'running', message: 'Started' })
      expect(
        (await reader.next()).activity,
        'mutating a watch event changes nothing in later events',
      ).toMatchObject({ status: 'running', metadata: { tenant: 't1' } })
      controller.abort()
    })
  })
}
