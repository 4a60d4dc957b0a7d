import { describe, expect, it } from 'vitest'
import { ActivityNotFoundError } from '../errors/activity-not-found-error.js'
import { ActivityTransitionError } from '../errors/activity-transition-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { EventReader } from '../test/event-reader.js'
import { rejectionOf } from '../test/rejection-of.js'
import { MemoryActivityStore } from './memory-store.js'
import { createActivityTracker, defaultLifecycleMessages, type UpdateOptions } from './tracker.js'
import type { ActivityEvent } from './types.js'

const setup = (options: Parameters<typeof createActivityTracker>[0] = {}) => {
  const store = new MemoryActivityStore()
  return { store, tracker: createActivityTracker({ store, ...options }) }
}

describe('createActivityTracker', () => {
  it('uses the given store, or a new memory store by default', async () => {
    const { store, tracker } = setup()
    expect(tracker.store).toBe(store)
    const standalone = createActivityTracker()
    expect(standalone.store).toBeInstanceOf(MemoryActivityStore)
    const agentId = await standalone.create('research')
    expect((await standalone.detail(agentId)).status).toBe('queued')
  })

  describe('create', () => {
    it('returns a new random id and creates a queued activity with messages.queued', async () => {
      const { store, tracker } = setup()
      const first = await tracker.create('research')
      const second = await tracker.create('research')
      expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
      expect(second).not.toBe(first)
      const activity = await store.get(first)
      expect(activity).toMatchObject({
        agentId: first,
        agentType: 'research',
        status: 'queued',
        message: 'Waiting to start',
        percentage: 0,
        metadata: {},
      })
      expect(activity!.log).toStrictEqual([
        {
          status: 'queued',
          message: 'Waiting to start',
          percentage: 0,
          at: activity!.createdAt,
          kind: 'lifecycle',
        },
      ])
    })

    it('uses the agentId, metadata and first message given', async () => {
      const { tracker } = setup()
      const agentId = await tracker.create('support', {
        agentId: 'ticket-42',
        metadata: { tenant: 't1' },
        message: 'In the queue',
      })
      expect(agentId).toBe('ticket-42')
      expect(await tracker.detail('ticket-42')).toMatchObject({
        agentType: 'support',
        metadata: { tenant: 't1' },
        message: 'In the queue',
      })
    })

    it('refuses an agentId that exists', async () => {
      const { tracker } = setup()
      await tracker.create('support', { agentId: 'same' })
      const error = await rejectionOf(tracker.create('support', { agentId: 'same' }))
      expect(InvalidOptionsError.isInstance(error)).toBe(true)
      expect((error as InvalidOptionsError).field).toBe('agentId')
    })
  })

  describe('update', () => {
    it('moves to running by default and keeps the percentage when it is omitted', async () => {
      const { tracker } = setup()
      const agentId = await tracker.create('research')
      const started = await tracker.update(agentId, 'Searching', { percentage: 30 })
      expect(started).toMatchObject({ status: 'running', message: 'Searching', percentage: 30 })
      expect(started.startedAt).toBe(started.updatedAt)
      const next = await tracker.update(agentId, 'Reading results')
      expect(next).toMatchObject({ status: 'running', message: 'Reading results', percentage: 30 })
      expect(next.log.at(-1)).toMatchObject({
        status: 'running',
        message: 'Reading results',
        percentage: null,
      })
      expect(next.log.map((entry) => entry.message)).toEqual([
        'Waiting to start',
        'Searching',
        'Reading results',
      ])
    })

    it('applies the status given', async () => {
      const { tracker } = setup()
      const agentId = await tracker.create('research')
      await tracker.update(agentId, 'Started')
      expect(
        (await tracker.update(agentId, 'All done', { status: 'complete', percentage: 100 })).status,
      ).toBe('complete')
    })

    it.each([-1, 101, 1.5, Number.NaN])(
      'refuses percentage %s with InvalidOptionsError on percentage, and writes nothing',
      async (percentage) => {
        const { tracker } = setup()
        const agentId = await tracker.create('research')
        const before = await tracker.detail(agentId)
        const error = await rejectionOf(tracker.update(agentId, 'Working', { percentage }))
        expect(InvalidOptionsError.isInstance(error)).toBe(true)
        expect((error as InvalidOptionsError).field).toBe('percentage')
        expect(await tracker.detail(agentId)).toEqual(before)
      },
    )

    it('accepts percentages 0 and 100', async () => {
      const { tracker } = setup()
      const agentId = await tracker.create('research')
      expect((await tracker.update(agentId, 'Start', { percentage: 0 })).percentage).toBe(0)
      expect((await tracker.update(agentId, 'Nearly', { percentage: 100 })).percentage).toBe(100)
    })

    it('refuses an unknown agentId with ActivityNotFoundError', async () => {
      const { tracker } = setup()
      await expect(tracker.update('missing', 'Working')).rejects.toSatisfy(ActivityNotFoundError.isInstance)
    })

    it('writes the attempt and kind given, and neither when none is given', async () => {
      const { tracker } = setup()
      const agentId = await tracker.create('research')
      const reported = await tracker.update(agentId, 'Searching', {
        percentage: 30,
        attempt: 2,
        kind: 'progress',
      })
      expect(reported.log.at(-1)).toStrictEqual({
        status: 'running',
        message: 'Searching',
        percentage: 30,
        at: reported.updatedAt,
        attempt: 2,
        kind: 'progress',
      })
      const retried = await tracker.update(agentId, 'Retry 2/3: overloaded', { kind: 'retry' })
      expect(retried.log.at(-1)).toStrictEqual({
        status: 'running',
        message: 'Retry 2/3: overloaded',
        percentage: null,
        at: retried.updatedAt,
        kind: 'retry',
      })
      const plain = await tracker.update(agentId, 'Reading')
      expect(Object.keys(plain.log.at(-1)!).sort(), 'no attempt or kind key when none is given').toEqual([
        'at',
        'message',
        'percentage',
        'status',
      ])
    })

    it.each([
      ['attempt', { attempt: 0 }],
      ['attempt', { attempt: 2.5 }],
      ['kind', { kind: 'progres' }],
    ])(
      'refuses an invalid %s with InvalidOptionsError naming it, and writes nothing',
      async (field, options) => {
        const { tracker } = setup()
        const agentId = await tracker.create('research')
        const before = await tracker.detail(agentId)
        const error = await rejectionOf(tracker.update(agentId, 'Working', options as UpdateOptions))
        expect(InvalidOptionsError.isInstance(error)).toBe(true)
        expect((error as InvalidOptionsError).field).toBe(field)
        expect(await tracker.detail(agentId)).toEqual(before)
      },
    )
  })

  describe('lifecycle endings', () => {
    it('complete moves to complete at 100% with messages.complete, or the message given', async () => {
      const { tracker } = setup()
      const first = await tracker.create('research')
      await tracker.update(first, 'Working', { percentage: 40 })
      const done = await tracker.complete(first)
      expect(done).toMatchObject({ status: 'complete', message: 'Complete', percentage: 100 })
      expect(done.finishedAt).toBe(done.updatedAt)
      const second = await tracker.create('research')
      await tracker.update(second, 'Working')
      expect((await tracker.complete(second, 'Report ready')).message).toBe('Report ready')
    })

    it('error writes messages.error(err) for an Error, a string or anything else', async () => {
      const { tracker } = setup()
      const cases: Array<[unknown, string]> = [
        [new Error('model overloaded'), 'Failed: model overloaded'],
        ['quota exceeded', 'Failed: quota exceeded'],
        [{ code: 500 }, 'Failed: {"code":500}'],
      ]
      for (const [error, message] of cases) {
        const agentId = await tracker.create('research')
        await tracker.update(agentId, 'Working', { percentage: 60 })
        expect(await tracker.error(agentId, error)).toMatchObject({
          status: 'error',
          message,
          percentage: 60,
        })
      }
    })

    it('error can end a queued activity that never started', async () => {
      const { tracker } = setup()
      const agentId = await tracker.create('research')
      const failed = await tracker.error(agentId, new Error('bad input'))
      expect(failed.status).toBe('error')
      expect('startedAt' in failed).toBe(false)
    })

    it('cancel moves to canceled with messages.canceled, or the message given', async () => {
      const { tracker } = setup()
      const queued = await tracker.create('research')
      expect(await tracker.cancel(queued)).toMatchObject({ status: 'canceled', message: 'Canceled' })
      const running = await tracker.create('research')
      await tracker.update(running, 'Working', { percentage: 20 })
      expect(await tracker.cancel(running, 'Stopped by the user')).toMatchObject({
        status: 'canceled',
        message: 'Stopped by the user',
        percentage: 20,
      })
    })

    it('complete, error and cancel take an attempt and kind after their positional arguments', async () => {
      const { tracker } = setup()
      const completed = await tracker.create('research')
      await tracker.update(completed, 'Working')
      const done = await tracker.complete(completed, undefined, { attempt: 2, kind: 'lifecycle' })
      expect(done.log.at(-1)).toStrictEqual({
        status: 'complete',
        message: 'Complete',
        percentage: 100,
        at: done.updatedAt,
        attempt: 2,
        kind: 'lifecycle',
      })
      const failed = await tracker.create('research')
      const error = await tracker.error(failed, new Error('model down'), { attempt: 3 })
      expect(error.log.at(-1)).toStrictEqual({
        status: 'error',
        message: 'Failed: model down',
        percentage: null,
        at: error.updatedAt,
        attempt: 3,
      })
      const canceled = await tracker.create('research')
      const stopped = await tracker.cancel(canceled, 'Declined by a reviewer', { kind: 'approval' })
      expect(stopped.log.at(-1)).toStrictEqual({
        status: 'canceled',
        message: 'Declined by a reviewer',
        percentage: null,
        at: stopped.updatedAt,
        kind: 'approval',
      })
      const plain = await tracker.create('research')
      const plainDone = await tracker.cancel(plain)
      expect(Object.keys(plainDone.log.at(-1)!).sort(), 'no attempt or kind key when none is given').toEqual([
        'at',
        'message',
        'percentage',
        'status',
      ])
    })

    it('complete, error and cancel refuse an invalid attempt or kind, and write nothing', async () => {
      const { tracker } = setup()
      const agentId = await tracker.create('research')
      const before = await tracker.detail(agentId)
      for (const [field, end] of [
        ['attempt', () => tracker.complete(agentId, undefined, { attempt: -1 })],
        ['kind', () => tracker.error(agentId, 'boom', { kind: 'failure' as never })],
        ['attempt', () => tracker.cancel(agentId, undefined, { attempt: 1_000_001 })],
      ] as const) {
        const error = await rejectionOf(end())
        expect(InvalidOptionsError.isInstance(error)).toBe(true)
        expect((error as InvalidOptionsError).field).toBe(field)
      }
      expect(await tracker.detail(agentId)).toEqual(before)
    })

    it.each([
      ['complete', (tracker: ReturnType<typeof setup>['tracker'], id: string) => tracker.complete(id)],
      ['error', (tracker: ReturnType<typeof setup>['tracker'], id: string) => tracker.error(id, 'boom')],
      ['canceled', (tracker: ReturnType<typeof setup>['tracker'], id: string) => tracker.cancel(id)],
    ] as const)('refuses every update once %s, with ActivityTransitionError', async (status, end) => {
      const { tracker } = setup()
      const agentId = await tracker.create('research')
      await tracker.update(agentId, 'Working')
      await end(tracker, agentId)
      const final = await tracker.detail(agentId)
      expect(final.status).toBe(status)
      for (const attempt of [
        () => tracker.update(agentId, 'Still working'),
        () => tracker.complete(agentId),
        () => tracker.error(agentId, 'late'),
        () => tracker.cancel(agentId),
      ]) {
        const error = await rejectionOf(attempt())
        expect(ActivityTransitionError.isInstance(error)).toBe(true)
        expect(error).toMatchObject({ agentId, from: status })
      }
      expect(await tracker.detail(agentId)).toEqual(final)
    })
  })

  describe('messages', () => {
    it('uses custom lifecycle messages and keeps the defaults for the others', async () => {
      const { tracker } = setup({
        messages: {
          queued: 'En attente',
          complete: 'Terminé',
          error: (error) => `Erreur : ${(error as Error).message}`,
        },
      })
      expect(tracker.messages.canceled).toBe(defaultLifecycleMessages.canceled)
      const first = await tracker.create('research')
      expect((await tracker.detail(first)).message).toBe('En attente')
      await tracker.update(first, 'Travail')
      expect((await tracker.complete(first)).message).toBe('Terminé')
      const second = await tracker.create('research')
      expect((await tracker.error(second, new Error('panne'))).message).toBe('Erreur : panne')
      const third = await tracker.create('research')
      expect((await tracker.cancel(third)).message).toBe('Canceled')
    })
  })

  describe('reads', () => {
    it('detail refuses an unknown agentId with ActivityNotFoundError naming it', async () => {
      const { tracker } = setup()
      const error = await rejectionOf(tracker.detail('missing'))
      expect(ActivityNotFoundError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({ agentId: 'missing' })
    })

    it('detail, list, countActive and trajectory scoped by metadata hide other tenants', async () => {
      const { tracker, store } = setup()
      const mine = await tracker.create('research', { metadata: { tenant: 't1' } })
      const theirs = await tracker.create('research', { metadata: { tenant: 't2' } })
      await store.saveTrajectory(theirs, {
        agentId: theirs,
        agentType: 'research',
        status: 'complete',
        startedAt: '2025-01-01T00:00:00.000Z',
        finishedAt: '2025-01-01T00:00:01.000Z',
        usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
        steps: [],
      })
      const scope = { metadata: { tenant: 't1' } }
      expect((await tracker.detail(mine, scope)).agentId).toBe(mine)
      await expect(tracker.detail(theirs, scope)).rejects.toSatisfy(ActivityNotFoundError.isInstance)
      expect((await tracker.list(scope)).items.map((item) => item.agentId)).toEqual([mine])
      expect(await tracker.countActive(scope)).toBe(1)
      expect(await tracker.countActive()).toBe(2)
      expect(await tracker.trajectory(theirs, scope)).toBeUndefined()
      expect((await tracker.trajectory(theirs, { metadata: { tenant: 't2' } }))?.agentId).toBe(theirs)
    })

    it('watch pushes every change made through the tracker', async () => {
      const { tracker } = setup()
      const controller = new AbortController()
      const reader = new EventReader<ActivityEvent>(tracker.watch({}, controller.signal))
      const agentId = await tracker.create('research')
      await tracker.update(agentId, 'Working', { percentage: 50 })
      await tracker.complete(agentId)
      const events = await reader.take(3)
      expect(events.map((event) => [event.entry.status, event.activity.percentage])).toEqual([
        ['queued', 0],
        ['running', 50],
        ['complete', 100],
      ])
      controller.abort()
      await reader.expectEnd()
    })
  })
})
