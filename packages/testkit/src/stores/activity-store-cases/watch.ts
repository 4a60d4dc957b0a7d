import type { ActivityEvent, ActivityStore } from '@runner/core'
import { EventReader } from '@runner/core/test'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { StoreSuite } from './context.js'
import { summaryOf } from './fixtures.js'

/** `watch`: every change pushed once, in order, filtered, ended by the signal or by close. */
export function watchCases(suite: StoreSuite): void {
  describe('watch', () => {
    let controller: AbortController

    beforeEach(() => {
      controller = new AbortController()
    })

    afterEach(() => {
      controller.abort()
    })

    const watch = (filter: Parameters<ActivityStore['watch']>[0] = {}) =>
      new EventReader<ActivityEvent>(
        suite.store.watch(filter, controller.signal),
        `store.watch(${JSON.stringify(filter)})`,
      )

    it('pushes the create and every append, in order, each with its entry and the activity after it', async () => {
      const reader = watch()
      const created = await suite.create('a1', { metadata: { tenant: 't1' } })
      expect(await reader.next(), 'the create event carries the creation entry and the new summary').toEqual({
        agentId: 'a1',
        activity: summaryOf(created),
        entry: created.log[0],
      })

      const started = await suite.store.append('a1', {
        status: 'running',
        message: 'Started',
        percentage: 10,
      })
      expect(await reader.next(), 'an append event carries its entry and the summary right after it').toEqual(
        {
          agentId: 'a1',
          activity: summaryOf(started),
          entry: started.log[1],
        },
      )

      const done = await suite.store.append('a1', {
        status: 'complete',
        message: 'Complete',
        percentage: 100,
      })
      expect(await reader.next(), 'the final append event carries the finished summary').toEqual({
        agentId: 'a1',
        activity: summaryOf(done),
        entry: done.log[2],
      })
    })

    it('delivers a burst of changes completely, in order, without duplicates', async () => {
      const reader = watch()
      await suite.create('a1')
      await suite.create('a2')
      for (let index = 0; index < 30; index++) {
        await suite.store.append(index % 2 ? 'a1' : 'a2', { status: 'running', message: `m${index}` })
      }
      const events = await reader.take(32)
      expect(
        events.map((event) => `${event.agentId}:${event.entry.message}`),
        'watch delivers every change once, in the order written',
      ).toEqual([
        'a1:Waiting to start',
        'a2:Waiting to start',
        ...Array.from({ length: 30 }, (_, index) => `${index % 2 ? 'a1' : 'a2'}:m${index}`),
      ])
      const last = events.at(-1)!
      const { log: _log, ...summary } = (await suite.store.get(last.agentId))!
      expect(last.activity, 'the last event’s summary is the activity’s current state').toEqual(summary)
      await reader.expectNone(150)
    })

    it('does not deliver changes made before watch was called', async () => {
      await suite.create('before')
      await suite.store.append('before', { status: 'running', message: 'Started' })
      const reader = watch()
      await suite.create('after')
      const event = await reader.next()
      expect(event.agentId, 'watch delivers changes from the call on, not earlier ones').toBe('after')
      expect(event.entry.status, 'the first event after the call is the create that followed it').toBe(
        'queued',
      )
    })

    it('filters by agentId', async () => {
      const reader = watch({ agentId: 'b' })
      await suite.create('a')
      await suite.create('b')
      await suite.store.append('a', { status: 'running', message: 'a runs' })
      await suite.store.append('b', { status: 'running', message: 'b runs' })
      await suite.store.append('a', { status: 'complete', message: 'a done' })
      await suite.store.append('b', { status: 'canceled', message: 'b canceled' })
      const events = await reader.take(3)
      expect(
        events.map((event) => [event.agentId, event.entry.message]),
        'watch({ agentId }) delivers that activity’s changes only',
      ).toEqual([
        ['b', 'Waiting to start'],
        ['b', 'b runs'],
        ['b', 'b canceled'],
      ])
    })

    it('filters by metadata with the same type-exact, ANDed equality as list', async () => {
      const reader = watch({ metadata: { tenant: 'acme', tier: 1 } })
      await suite.create('other-tenant', { metadata: { tenant: 'globex', tier: 1 } })
      await suite.create('string-tier', { metadata: { tenant: 'acme', tier: '1' } })
      await suite.create('no-tier', { metadata: { tenant: 'acme' } })
      await suite.create('match', { metadata: { tenant: 'acme', tier: 1, extra: true } })
      await suite.store.append('other-tenant', { status: 'running', message: 'x' })
      await suite.store.append('match', { status: 'running', message: 'match runs' })
      const events = await reader.take(2)
      expect(
        events.map((event) => [event.agentId, event.entry.message]),
        'watch({ metadata }) delivers only activities whose metadata matches every key, type-exact',
      ).toEqual([
        ['match', 'Waiting to start'],
        ['match', 'match runs'],
      ])
      await suite.store.append('string-tier', { status: 'running', message: 'x' })
      await reader.expectNone(150)
    })

    it('gives every watcher every event', async () => {
      const first = watch()
      const second = watch({ agentId: 'a1' })
      await suite.create('a1')
      await suite.store.append('a1', { status: 'running', message: 'Started' })
      expect(
        (await first.take(2)).map((event) => event.entry.status),
        'each watcher gets every event it matches',
      ).toEqual(['queued', 'running'])
      expect(
        (await second.take(2)).map((event) => event.entry.status),
        'each watcher gets every event it matches',
      ).toEqual(['queued', 'running'])
    })

    it('ends when the signal aborts, also while waiting for an event', async () => {
      const reader = watch()
      await suite.create('a1')
      await reader.next()
      const waiting = reader.expectEnd()
      controller.abort()
      await waiting
    })

    it('ends at once for a signal that is already aborted', async () => {
      controller.abort()
      const reader = watch()
      await suite.create('a1')
      await reader.expectEnd()
    })

    it('keeps other watchers running when one consumer stops early', async () => {
      const stopping = watch()
      const staying = watch()
      await suite.create('a1')
      await stopping.next()
      await stopping.return()
      await suite.store.append('a1', { status: 'running', message: 'Started' })
      expect(
        (await staying.take(2)).map((event) => event.entry.status),
        'a watcher that stops early does not end the others',
      ).toEqual(['queued', 'running'])
    })

    it('ends pending iterations on close', async () => {
      const reader = watch()
      await suite.create('a1')
      await reader.next()
      const waiting = reader.expectEnd()
      await suite.store.close()
      await waiting
    })
  })
}
