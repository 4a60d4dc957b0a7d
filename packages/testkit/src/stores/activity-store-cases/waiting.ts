import type { ActivityEvent, ActivityStatus } from '@runner/core'
import type { PendingRequestInput } from '@runner/core/store'
import { EventReader } from '@runner/core/test'
import { describe, expect, it } from 'vitest'
import type { StoreSuite } from './context.js'
import { expectInvalidOptions, expectNoKey } from './expectations.js'
import { moveTo, WAITING_ON } from './fixtures.js'

const PENDING: PendingRequestInput[] = [
  { id: 'call-1', kind: 'approval', toolName: 'send_email', input: { to: 'ops@example.com', body: 'héllo' } },
  { id: 'call-2', kind: 'approval', toolName: 'delete_file', input: { path: '/tmp/x' } },
  { id: 'ask-1', kind: 'input', payload: { question: 'Which region?', options: ['eu', 'us'] } },
]

const EXPIRES_AT = '2030-01-02T03:04:05.678Z'

/**
 * The `waiting` status: a run suspended until someone answers. `append` stores its pending
 * requests (required with `waiting`, refused with any other status) in the same write, and every
 * move out of `waiting` clears them.
 */
export function waitingCases(suite: StoreSuite): void {
  describe('waiting', () => {
    it('moves running -> waiting with its pending requests and expiry, which getRun returns', async () => {
      const running = await suite.createIn('a1', 'running')
      const waiting = await suite.store.append('a1', {
        status: 'waiting',
        message: 'Waiting for approval',
        kind: 'approval',
        pending: PENDING,
        expiresAt: EXPIRES_AT,
      })
      expect(waiting.status, 'append returns the activity in waiting').toBe('waiting')
      expect(waiting.log.at(-1), 'the entry records the move to waiting').toStrictEqual({
        status: 'waiting',
        message: 'Waiting for approval',
        percentage: null,
        at: waiting.updatedAt,
        kind: 'approval',
      })
      expect(waiting.startedAt, 'a waiting run keeps startedAt').toBe(running.startedAt)
      expectNoKey(waiting, 'finishedAt', 'a waiting activity (waiting is not final)')
      expect(await suite.store.get('a1'), 'get returns what append returned').toEqual(waiting)
      const record = (await suite.store.getRun('a1'))!
      expect(record.status, 'getRun carries the activity status').toBe('waiting')
      expect(record.pending, 'getRun returns the pending requests as given, in order, undecided').toEqual(
        PENDING,
      )
      for (const request of record.pending!) expectNoKey(request, 'decision', 'an undecided request')
      expect(record.expiresAt, 'getRun returns the expiry given with the wait').toBe(EXPIRES_AT)
    })

    it('keeps no expiry when the wait has none', async () => {
      await suite.createIn('a1', 'waiting')
      const record = (await suite.store.getRun('a1'))!
      expect(record.pending, 'the pending requests of the wait').toEqual(WAITING_ON)
      expectNoKey(record, 'expiresAt', 'the record of a wait without expiresAt')
    })

    it.each<[string, unknown, string]>([
      ['absent', undefined, 'pending'],
      ['empty', [], 'pending'],
      ['with a duplicate id', [PENDING[0], PENDING[0]], 'pending'],
      ['with an unknown kind', [{ id: 'x', kind: 'maybe' }], 'pending.0.kind'],
      ['with an empty id', [{ id: '', kind: 'approval' }], 'pending.0.id'],
    ])('refuses waiting with pending %s, naming %s, and writes nothing', async (_case, pending, field) => {
      const before = await suite.createIn('a1', 'running')
      const recordBefore = await suite.store.getRun('a1')
      const entry = {
        status: 'waiting' as const,
        message: 'Waiting',
        ...(pending === undefined ? {} : { pending }),
      }
      await expectInvalidOptions(
        suite.store.append('a1', entry as never),
        field,
        `append to waiting with pending ${_case}`,
      )
      expect(await suite.store.get('a1'), 'a refused wait writes no entry and keeps the status').toEqual(
        before,
      )
      expect(await suite.store.getRun('a1'), 'a refused wait stores no pending request').toEqual(recordBefore)
    })

    it.each<[ActivityStatus, ActivityStatus]>([
      ['queued', 'running'],
      ['running', 'running'],
      ['running', 'complete'],
      ['running', 'error'],
      ['running', 'canceled'],
      ['waiting', 'running'],
      ['waiting', 'canceled'],
    ])(
      'refuses pending and expiresAt on a move %s -> %s (only waiting takes them), and writes nothing',
      async (from, to) => {
        const before = await suite.createIn('a1', from)
        const recordBefore = await suite.store.getRun('a1')
        await expectInvalidOptions(
          suite.store.append('a1', { status: to, message: 'x', pending: PENDING }),
          'pending',
          `append to ${to} with pending`,
        )
        await expectInvalidOptions(
          suite.store.append('a1', { status: to, message: 'x', expiresAt: EXPIRES_AT }),
          'expiresAt',
          `append to ${to} with expiresAt`,
        )
        expect(await suite.store.get('a1'), `a refused ${from} -> ${to} writes nothing`).toEqual(before)
        expect(
          await suite.store.getRun('a1'),
          `a refused ${from} -> ${to} leaves the run record as it was`,
        ).toEqual(recordBefore)
      },
    )

    it('refuses an expiresAt that is not an ISO 8601 time, naming expiresAt', async () => {
      const before = await suite.createIn('a1', 'running')
      await expectInvalidOptions(
        suite.store.append('a1', {
          status: 'waiting',
          message: 'x',
          pending: PENDING,
          expiresAt: 'tomorrow',
        }),
        'expiresAt',
      )
      expect(await suite.store.get('a1'), 'a refused wait writes nothing').toEqual(before)
    })

    it.each<ActivityStatus>(['running', 'canceled', 'error'])(
      'clears the pending requests and the expiry on waiting -> %s',
      async (to) => {
        await suite.createIn('a1', 'running')
        await suite.store.append('a1', {
          status: 'waiting',
          message: 'Wait',
          pending: PENDING,
          expiresAt: EXPIRES_AT,
        })
        await suite.store.decide('a1', 'call-1', { type: 'approve' })
        const after = await suite.store.append('a1', { status: to, message: `now ${to}` })
        expect(after.status, `waiting -> ${to} is legal`).toBe(to)
        const record = (await suite.store.getRun('a1'))!
        expect(record.status, 'getRun follows the move').toBe(to)
        expectNoKey(record, 'pending', `the record of a run that moved waiting -> ${to}`)
        expectNoKey(record, 'expiresAt', `the record of a run that moved waiting -> ${to}`)
      },
    )

    it('gives a second wait its own pending requests, without the first one’s decisions', async () => {
      await suite.createIn('a1', 'running')
      await suite.store.append('a1', {
        status: 'waiting',
        message: 'First wait',
        pending: PENDING,
        expiresAt: EXPIRES_AT,
      })
      await suite.store.decide('a1', 'call-1', { type: 'approve' })
      await suite.store.append('a1', { status: 'running', message: 'Resumed' })
      const second: PendingRequestInput[] = [
        { id: 'call-9', kind: 'approval', toolName: 'pay', input: { amount: 5 } },
      ]
      await suite.store.append('a1', { status: 'waiting', message: 'Second wait', pending: second })
      const record = (await suite.store.getRun('a1'))!
      expect(record.pending, 'the second wait holds its own requests only, undecided').toEqual(second)
      expectNoKey(record, 'expiresAt', 'a second wait without expiresAt (the first one’s is not kept)')
    })

    it('pushes the move to waiting to watchers', async () => {
      await suite.createIn('a1', 'running')
      const controller = new AbortController()
      const reader = new EventReader<ActivityEvent>(
        suite.store.watch({ agentId: 'a1' }, controller.signal),
        'store.watch({ agentId: "a1" })',
      )
      try {
        await suite.store.append('a1', moveTo('waiting', 'Waiting for approval'))
        const event = await reader.next()
        expect(event.entry, 'the event carries the entry of the move to waiting').toMatchObject({
          status: 'waiting',
          message: 'Waiting for approval',
        })
        expect(event.activity.status, 'the event’s summary is waiting').toBe('waiting')
      } finally {
        controller.abort()
      }
    })
  })
}
