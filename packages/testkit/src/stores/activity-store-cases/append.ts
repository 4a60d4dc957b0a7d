import { ActivityNotFoundError, ActivityTransitionError } from '@runner/core'
import { describe, expect, it } from 'vitest'
import type { StoreSuite } from './context.js'
import { expectInvalidOptions, expectIsoTime, expectNoKey, expectRefused } from './expectations.js'
import { LEGAL_MOVES, moveTo, STATUSES } from './fixtures.js'

/** `append`: every legal move applied, every illegal one refused, percentages and timestamps. */
export function appendCases(suite: StoreSuite): void {
  describe('append', () => {
    for (const from of STATUSES) {
      for (const to of STATUSES) {
        const legal = LEGAL_MOVES[from].includes(to)
        it(`${legal ? 'applies' : 'refuses'} ${from} -> ${to}`, async () => {
          const before = await suite.createIn('a1', from)
          expect(before.status, `the activity was brought to ${from} for the test`).toBe(from)
          if (legal) {
            const after = await suite.store.append('a1', { ...moveTo(to, `now ${to}`), percentage: 40 })
            expect(after.status, `append returns the activity after the move ${from} -> ${to}`).toBe(to)
            expect(after.message, 'the summary takes the message of the latest entry').toBe(`now ${to}`)
            expect(after.percentage, 'the summary takes the percentage the entry sets').toBe(40)
            expect(after.log, 'append adds exactly one log entry').toHaveLength(before.log.length + 1)
            expect(after.log.at(-1), 'the new entry holds the status, message and percentage given').toEqual({
              status: to,
              message: `now ${to}`,
              percentage: 40,
              at: after.updatedAt,
            })
            expectNoKey(after.log.at(-1)!, 'kind', 'an entry appended without a kind')
            expect(await suite.store.get('a1'), 'get returns what append returned').toEqual(after)
          } else {
            const error = await expectRefused(
              suite.store.append('a1', { ...moveTo(to, 'illegal'), percentage: 40 }),
              ActivityTransitionError,
              `the illegal move ${from} -> ${to}`,
            )
            expect(error, 'the ActivityTransitionError names the activity and the move').toMatchObject({
              agentId: 'a1',
              from,
              to,
            })
            expect(await suite.store.get('a1'), 'a refused move changes nothing').toEqual(before)
          }
        })
      }
    }

    it('refuses every update once terminal, however many are tried, and writes nothing', async () => {
      for (const terminal of ['complete', 'error', 'canceled'] as const) {
        const before = await suite.createIn(`t-${terminal}`, terminal)
        for (const to of STATUSES) {
          await expectRefused(
            suite.store.append(`t-${terminal}`, moveTo(to, 'again')),
            ActivityTransitionError,
            `the move ${terminal} -> ${to} (a terminal status is final)`,
          )
        }
        expect(
          await suite.store.get(`t-${terminal}`),
          `append refuses a move out of the terminal status ${terminal} and writes nothing`,
        ).toEqual(before)
      }
      expect(await suite.store.countActive(), 'refused moves never make a terminal activity active').toBe(0)
    })

    it('refuses an unknown agentId with ActivityNotFoundError and creates nothing', async () => {
      const error = await expectRefused(
        suite.store.append('missing', { status: 'running', message: 'Started' }),
        ActivityNotFoundError,
        'append to an unknown agentId',
      )
      expect(error, 'the ActivityNotFoundError names the agentId').toMatchObject({ agentId: 'missing' })
      expect(await suite.store.get('missing'), 'append to an unknown id creates no activity').toBeUndefined()
      expect((await suite.store.list()).total, 'append to an unknown id creates no activity').toBe(0)
    })

    it.each([
      ['status', { status: 'done', message: 'x' }],
      ['status', { message: 'x' }],
      ['message', { status: 'running', message: 42 }],
      ['message', { status: 'running' }],
    ])('refuses invalid input naming %s, and writes nothing', async (field, entry) => {
      const before = await suite.create('a1')
      await expectInvalidOptions(suite.store.append('a1', entry as never), field)
      expect(await suite.store.get('a1'), `append with an invalid ${field} writes nothing`).toEqual(before)
    })

    it.each([1.5, -1, 101, Number.NaN, Number.POSITIVE_INFINITY, '50'])(
      'refuses percentage %s with InvalidOptionsError on percentage, and writes nothing',
      async (percentage) => {
        const before = await suite.createIn('a1', 'running')
        await expectInvalidOptions(
          suite.store.append('a1', { status: 'running', message: 'x', percentage: percentage as number }),
          'percentage',
        )
        expect(await suite.store.get('a1'), 'append with an invalid percentage writes nothing').toEqual(
          before,
        )
      },
    )

    it('accepts the bounds 0 and 100, and keeps the previous percentage on null or omitted', async () => {
      await suite.create('a1')
      const start = await suite.store.append('a1', { status: 'running', message: 'start', percentage: 0 })
      expect(start.percentage, 'percentage 0 is accepted').toBe(0)
      const half = await suite.store.append('a1', { status: 'running', message: 'half', percentage: 55 })
      expect(half.percentage, 'an entry with a percentage sets it').toBe(55)
      const kept = await suite.store.append('a1', { status: 'running', message: 'still', percentage: null })
      expect(kept.percentage, 'percentage null keeps the previous percentage').toBe(55)
      expect(kept.log.at(-1)!.percentage, 'an entry that sets no percentage records null').toBeNull()
      const omitted = await suite.store.append('a1', { status: 'running', message: 'again' })
      expect(omitted.percentage, 'an omitted percentage keeps the previous percentage').toBe(55)
      expect(omitted.log.at(-1)!.percentage, 'an entry that sets no percentage records null').toBeNull()
      const done = await suite.store.append('a1', { status: 'complete', message: 'done', percentage: 100 })
      expect(done.percentage, 'percentage 100 is accepted').toBe(100)
      expect((await suite.store.get('a1'))!.percentage, 'get returns the percentage append set').toBe(100)
    })

    it('sets startedAt on the first running entry, finishedAt on the terminal one, updatedAt on each', async () => {
      const created = await suite.create('a1')
      const started = await suite.store.append('a1', { status: 'running', message: 'Started' })
      expect(started.startedAt, 'startedAt is the time of the first running entry').toBe(started.log[1]!.at)
      expect(started.updatedAt, 'updatedAt is the time of the latest entry').toBe(started.log[1]!.at)
      expectNoKey(started, 'finishedAt', 'an active activity')
      expect(started.createdAt, 'createdAt never changes').toBe(created.createdAt)

      const again = await suite.store.append('a1', { status: 'running', message: 'Working' })
      expect(again.startedAt, 'a later running entry keeps startedAt').toBe(started.startedAt)
      expect(again.updatedAt, 'updatedAt is the time of the latest entry').toBe(again.log[2]!.at)

      const done = await suite.store.append('a1', {
        status: 'complete',
        message: 'Complete',
        percentage: 100,
      })
      expect(done.startedAt, 'the terminal entry keeps startedAt').toBe(started.startedAt)
      expect(done.finishedAt, 'finishedAt is the time of the terminal entry').toBe(done.log[3]!.at)
      expect(done.updatedAt, 'updatedAt is the time of the terminal entry').toBe(done.finishedAt)
      expect(done.createdAt, 'createdAt never changes').toBe(created.createdAt)
      expectIsoTime(done.createdAt, 'createdAt')
      expectIsoTime(done.startedAt!, 'startedAt')
      expectIsoTime(done.finishedAt!, 'finishedAt')
      expect(done.createdAt <= done.startedAt!, 'createdAt is not after startedAt').toBe(true)
      expect(done.startedAt! <= done.finishedAt!, 'startedAt is not after finishedAt').toBe(true)
      const times = done.log.map((entry) => entry.at)
      expect([...times].sort(), 'log entries are written in time order').toEqual(times)
    })

    it.each(['canceled', 'error'] as const)(
      'sets finishedAt but no startedAt when a queued activity moves straight to %s',
      async (status) => {
        await suite.create('a1')
        const ended = await suite.store.append('a1', { status, message: 'ended early' })
        expectNoKey(ended, 'startedAt', 'an activity that never ran')
        expect(ended.finishedAt, 'finishedAt is the time of the terminal entry').toBe(ended.log[1]!.at)
        expect(ended.updatedAt, 'updatedAt is the time of the terminal entry').toBe(ended.finishedAt)
      },
    )

    it('keeps the log in append order, and the summary follows the latest entry', async () => {
      await suite.create('a1', { message: 'm-queued' })
      for (let index = 0; index < 12; index++) {
        await suite.store.append('a1', {
          status: 'running',
          message: `m${index}`,
          percentage: index % 3 ? null : index,
        })
      }
      const activity = (await suite.store.get('a1'))!
      expect(
        activity.log.map((entry) => entry.message),
        'the log holds every entry, oldest first',
      ).toEqual(['m-queued', ...Array.from({ length: 12 }, (_, index) => `m${index}`)])
      expect(
        activity.log.map((entry) => entry.percentage),
        'each entry keeps its own percentage, null where it set none',
      ).toEqual([0, ...Array.from({ length: 12 }, (_, index) => (index % 3 ? null : index))])
      expect(activity.message, 'the summary message is the latest entry’s').toBe('m11')
      expect(activity.percentage, 'the summary percentage is the latest one set').toBe(9)
      expect(activity.status, 'the summary status is the latest entry’s').toBe('running')
    })
  })
}
