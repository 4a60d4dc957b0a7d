import { InvalidOptionsError } from '@runner/core'
import type { DurableJobQueue, QueuedJob } from '@runner/core/store'
import { describe, expect, it, type TestContext } from 'vitest'
import type { StoreSuite } from './context.js'
import { expectInvalidOptions, expectRefused } from './expectations.js'
import { sleep } from './fixtures.js'

/** A lease long enough never to run out during a test. */
const LONG_LEASE_MS = 60_000

/**
 * The durable job queue (`store.jobQueue`, on stores that survive a restart; skipped when the
 * store has none): claims by priority then first in first out, ready times, claim limits, leases
 * that never let two owners hold a job and that redeliver a job whose owner stopped renewing.
 *
 * Fair claims across concurrency keys (`concurrencyKey`, `concurrencyLimit`) are held to on a
 * queue that declares `fairClaims: true`; on one that does not, those cases skip (saying so), so
 * that a store written before them keeps passing. The local engine runs keyed tasks unfairly on
 * such a queue.
 */
export function jobQueueCases(suite: StoreSuite): void {
  describe('job queue', () => {
    /** The store's queue, or skips the test for a store without one. */
    const queueOf = (context: TestContext): DurableJobQueue => {
      const queue = suite.store.jobQueue
      if (!queue) context.skip('this store has no jobQueue')
      return queue as DurableJobQueue
    }
    const past = () => Date.now() - 1000
    const jobOf = (agentId: string, priority = 0, readyAt = past()): QueuedJob => ({
      agentId,
      job: { task: 'research', input: { topic: `topic of ${agentId}`, tags: ['ü', null] }, attempt: 1 },
      priority,
      readyAt,
    })

    it('claims the highest priority first, then the oldest, and returns each job as pushed', async (context) => {
      const queue = queueOf(context)
      const pushed = [
        jobOf('j1', 0),
        jobOf('j2', 5),
        jobOf('j3', 0),
        jobOf('j4', 5),
        jobOf('j5', -1),
        jobOf('j6', 10),
      ]
      for (const job of pushed) await queue.push(job)
      const claimed = await queue.claim('owner-a', 10, LONG_LEASE_MS)
      expect(
        claimed.map((job) => job.agentId),
        'claim order: higher priority first, first in first out within a priority',
      ).toEqual(['j6', 'j2', 'j4', 'j1', 'j3', 'j5'])
      for (const job of claimed) {
        expect(job, `a claimed job is returned as pushed, with redelivered false (${job.agentId})`).toEqual({
          ...pushed.find((item) => item.agentId === job.agentId),
          redelivered: false,
        })
      }
    })

    it('claims at most limit jobs, and never a job another owner holds', async (context) => {
      const queue = queueOf(context)
      for (let index = 0; index < 5; index++) await queue.push(jobOf(`j${index}`))
      expect(
        (await queue.claim('owner-a', 2, LONG_LEASE_MS)).map((job) => job.agentId),
        'claim returns at most limit jobs, the oldest first',
      ).toEqual(['j0', 'j1'])
      expect(
        (await queue.claim('owner-b', 10, LONG_LEASE_MS)).map((job) => job.agentId),
        'a second owner gets only the jobs nobody holds',
      ).toEqual(['j2', 'j3', 'j4'])
      expect(
        await queue.claim('owner-c', 10, LONG_LEASE_MS),
        'a job under a lease is never claimed again',
      ).toEqual([])
      expect(await queue.claim('owner-a', 10, LONG_LEASE_MS), 'not even by the owner that holds it').toEqual(
        [],
      )
    })

    it('keeps a job until its ready time, and tells when the next one is ready', async (context) => {
      const queue = queueOf(context)
      expect(await queue.nextReadyAt(), 'an empty queue has no next ready time').toBeUndefined()
      const later = Date.now() + 3_600_000
      await queue.push(jobOf('later', 100, later))
      expect(
        await queue.claim('owner-a', 10, LONG_LEASE_MS),
        'a job is not claimed before its ready time',
      ).toEqual([])
      expect(await queue.nextReadyAt(), 'nextReadyAt is the ready time of the only job').toBe(later)
      const now = past()
      await queue.push(jobOf('now', 0, now))
      expect(await queue.nextReadyAt(), 'nextReadyAt is the earliest ready time').toBe(now)
      expect(
        (await queue.claim('owner-a', 10, LONG_LEASE_MS)).map((job) => job.agentId),
        'a ready job is claimed, even below the priority of one that is not ready',
      ).toEqual(['now'])
      expect(await queue.remove('later'), 'remove resolves true for a queued job').toBe(true)
      expect(await queue.remove('now'), 'remove resolves true for a claimed job').toBe(true)
      expect(await queue.nextReadyAt(), 'an emptied queue has no next ready time').toBeUndefined()
    })

    it('refuses a second job with the same agentId, naming agentId', async (context) => {
      const queue = queueOf(context)
      await queue.push(jobOf('j1', 1))
      const error = await expectRefused(
        queue.push(jobOf('j1', 9)),
        InvalidOptionsError,
        'push of a queued agentId',
      )
      expect((error as InvalidOptionsError).field, 'the InvalidOptionsError names agentId').toBe('agentId')
      await queue.claim('owner-a', 1, LONG_LEASE_MS)
      await expectRefused(queue.push(jobOf('j1')), InvalidOptionsError, 'push of a claimed agentId')
      await queue.remove('j1')
      await queue.push(jobOf('j1', 3))
      expect(
        (await queue.claim('owner-b', 10, LONG_LEASE_MS)).map((job) => [
          job.agentId,
          job.priority,
          job.redelivered,
        ]),
        'once removed, the agentId can be pushed again, as a new job',
      ).toEqual([['j1', 3, false]])
    })

    it('never gives one job to two owners claiming at the same time', async (context) => {
      const queue = queueOf(context)
      const count = 40
      for (let index = 0; index < count; index++)
        await queue.push(jobOf(`j${String(index).padStart(2, '0')}`, index % 3))
      const owners = Array.from({ length: 8 }, (_, index) => `owner-${index}`)
      const claims = await Promise.all(owners.map((owner) => queue.claim(owner, 7, LONG_LEASE_MS)))
      const ids = claims.flat().map((job) => job.agentId)
      expect(
        new Set(ids).size,
        `concurrent claims return each job once; got ${JSON.stringify(claims.map((claim) => claim.map((job) => job.agentId)))}`,
      ).toBe(ids.length)
      expect(ids.length, '8 owners claiming 7 each take every one of the 40 jobs').toBe(count)
      for (const claim of claims) expect(claim.length, 'each claim respects its limit').toBeLessThanOrEqual(7)
    })

    it('redelivers a job whose lease ran out; its old owner learns it lost it on renew', async (context) => {
      const queue = queueOf(context)
      const short = jobOf('short', 1)
      await queue.push(short)
      await queue.push(jobOf('long', 0))
      expect(
        (await queue.claim('owner-a', 1, 30)).map((job) => job.agentId),
        'owner-a holds short',
      ).toEqual(['short'])
      expect(
        (await queue.claim('owner-a', 1, LONG_LEASE_MS)).map((job) => job.agentId),
        'and long',
      ).toEqual(['long'])
      await sleep(150)
      const again = await queue.claim('owner-b', 10, LONG_LEASE_MS)
      expect(
        again.map((job) => [job.agentId, job.redelivered]),
        'a job whose lease ran out is claimed again, as redelivered; one under a live lease is not',
      ).toEqual([['short', true]])
      expect(again[0], 'a redelivered job is the job as pushed').toMatchObject(short)
      expect(
        await queue.renew('owner-a', ['short', 'long', 'unknown'], LONG_LEASE_MS),
        'renew resolves with the ids the owner no longer holds (taken by another, or not queued)',
      ).toEqual(['short', 'unknown'])
      expect(await queue.renew('owner-b', ['short'], LONG_LEASE_MS), 'the new owner renews its job').toEqual(
        [],
      )
      expect(
        await queue.renew('owner-b', ['long'], LONG_LEASE_MS),
        'an owner cannot renew another’s job',
      ).toEqual(['long'])
      expect(await queue.renew('owner-a', [], LONG_LEASE_MS), 'renewing nothing loses nothing').toEqual([])
    })

    it('keeps a renewed lease beyond its first term', async (context) => {
      const queue = queueOf(context)
      await queue.push(jobOf('j1'))
      await queue.claim('owner-a', 1, 400)
      expect(await queue.renew('owner-a', ['j1'], LONG_LEASE_MS), 'a live lease is renewed').toEqual([])
      await sleep(500)
      expect(
        await queue.claim('owner-b', 10, LONG_LEASE_MS),
        'a renewed lease holds past its first term',
      ).toEqual([])
    })

    /** The queue's `pushMany`, or skips the test for a queue without one (it is optional). */
    const pushManyOf = (context: TestContext) => {
      const queue = queueOf(context)
      if (!queue.pushMany) context.skip('this store’s jobQueue has no pushMany')
      return {
        queue,
        pushMany: (jobs: QueuedJob[]) => (queue.pushMany as (jobs: QueuedJob[]) => Promise<void>)(jobs),
      }
    }

    it('pushMany stores a batch, each job as given, claimed in the batch’s order within a priority', async (context) => {
      const { queue, pushMany } = pushManyOf(context)
      await queue.push(jobOf('before', 0))
      const batch = [jobOf('b1', 0), jobOf('b2', 3), jobOf('b3', 0), jobOf('b4', 0)]
      await pushMany(batch)
      await pushMany([])
      const claimed = await queue.claim('owner-a', 10, LONG_LEASE_MS)
      expect(
        claimed.map((job) => job.agentId),
        'pushMany keeps the batch’s order as push order (after jobs pushed before it)',
      ).toEqual(['b2', 'before', 'b1', 'b3', 'b4'])
      for (const job of batch) {
        expect(
          claimed.find((item) => item.agentId === job.agentId),
          `a job of a batch is returned as pushed (${job.agentId})`,
        ).toEqual({ ...job, redelivered: false })
      }
    })

    it('pushMany stores none of a batch that has a refused job, and names its index', async (context) => {
      const { queue, pushMany } = pushManyOf(context)
      await queue.push(jobOf('queued'))
      const refusals: Array<[QueuedJob[], string, string]> = [
        [[jobOf('x1'), jobOf('queued'), jobOf('x3')], 'jobs[1].agentId', 'a job already queued'],
        [[jobOf('x1'), jobOf('x2'), jobOf('x1')], 'jobs[2].agentId', 'an agentId given twice'],
        [[jobOf('x1'), { ...jobOf('x2'), priority: 1.5 }], 'jobs[1].priority', 'an invalid job'],
      ]
      for (const [jobs, field, what] of refusals) {
        await expectInvalidOptions(pushMany(jobs), field, `pushMany with ${what}`)
      }
      expect(
        (await queue.claim('owner-a', 10, LONG_LEASE_MS)).map((job) => job.agentId),
        'no job of a refused batch was stored',
      ).toEqual(['queued'])
    })

    describe('fair claims across concurrency keys', () => {
      /** The store's queue when it declares fair claims, or skips the test saying why. */
      const fairOf = (context: TestContext): DurableJobQueue => {
        const queue = queueOf(context)
        if (queue.fairClaims !== true)
          context.skip(
            'this store’s jobQueue does not declare fairClaims: true (keyed jobs are claimed in plain order)',
          )
        return queue
      }
      const keyed = (agentId: string, key: string, extra: Partial<QueuedJob> = {}): QueuedJob => ({
        ...jobOf(agentId),
        concurrencyKey: key,
        ...extra,
      })
      const ids = (claimed: Array<{ agentId: string }>) => claimed.map((job) => job.agentId)

      it('claims round-robin across keys within a priority (unkeyed jobs are one group), each job as pushed', async (context) => {
        const queue = fairOf(context)
        const pushed = [
          keyed('a1', 'A', { concurrencyLimit: 10 }),
          keyed('a2', 'A', { concurrencyLimit: 10 }),
          keyed('a3', 'A', { concurrencyLimit: 10 }),
          keyed('a4', 'A', { concurrencyLimit: 10 }),
          keyed('a5', 'A', { concurrencyLimit: 10 }),
          keyed('b1', 'B'),
          keyed('b2', 'B'),
          keyed('b3', 'B'),
          jobOf('u1'),
          jobOf('u2'),
        ]
        for (const job of pushed) await queue.push(job)
        const claimed = await queue.claim('owner-a', 10, LONG_LEASE_MS)
        expect(
          ids(claimed),
          'one job of each group in turn (oldest group first), not the 5 jobs of A pushed first',
        ).toEqual(['a1', 'b1', 'u1', 'a2', 'b2', 'u2', 'a3', 'b3', 'a4', 'a5'])
        for (const job of claimed) {
          expect(job, `a claimed job is returned as pushed, with its key and limit (${job.agentId})`).toEqual(
            {
              ...pushed.find((item) => item.agentId === job.agentId),
              redelivered: false,
            },
          )
        }
      })

      it('claims the highest priority first, whatever the key', async (context) => {
        const queue = fairOf(context)
        for (const job of [
          keyed('a1', 'A'),
          keyed('a2', 'A'),
          keyed('b1', 'B', { priority: 5 }),
          keyed('b2', 'B', { priority: 5 }),
          keyed('b3', 'B'),
        ])
          await queue.push(job)
        expect(
          ids(await queue.claim('owner-a', 10, LONG_LEASE_MS)),
          'the priority-5 jobs of B first, then round-robin',
        ).toEqual(['b1', 'b2', 'a1', 'a2', 'b3'])
      })

      it('serves the key with the fewest jobs in flight first, then the one served least recently', async (context) => {
        const queue = fairOf(context)
        for (let index = 1; index <= 4; index++) await queue.push(keyed(`a${index}`, 'A'))
        expect(ids(await queue.claim('owner-a', 2, LONG_LEASE_MS)), 'A alone: its two oldest').toEqual([
          'a1',
          'a2',
        ])
        for (let index = 1; index <= 4; index++) await queue.push(keyed(`b${index}`, 'B'))
        expect(
          ids(await queue.claim('owner-b', 3, LONG_LEASE_MS)),
          'B has none in flight and A two: B gets the next three slots (the third: B was served less recently)',
        ).toEqual(['b1', 'b2', 'b3'])
        expect(
          ids(await queue.claim('owner-c', 1, LONG_LEASE_MS)),
          'then A, which has fewer in flight (2 against 3)',
        ).toEqual(['a3'])
        expect(
          ids(await queue.claim('owner-d', 1, LONG_LEASE_MS)),
          'then, 3 in flight each, B: A was served more recently',
        ).toEqual(['b4'])
      })

      it('never puts more than concurrencyLimit jobs of a key in flight, across owners', async (context) => {
        const queue = fairOf(context)
        for (let index = 1; index <= 4; index++)
          await queue.push(keyed(`a${index}`, 'A', { concurrencyLimit: 2 }))
        await queue.push(keyed('b1', 'B', { concurrencyLimit: 1 }))
        await queue.push(keyed('b2', 'B', { concurrencyLimit: 1 }))
        expect(ids(await queue.claim('owner-a', 10, LONG_LEASE_MS)), 'two of A and one of B').toEqual([
          'a1',
          'b1',
          'a2',
        ])
        expect(
          await queue.claim('owner-b', 10, LONG_LEASE_MS),
          'another owner gets nothing while both keys are at their limit',
        ).toEqual([])
        const next = await queue.nextReadyAt()
        expect(
          next === undefined || next > Date.now() + LONG_LEASE_MS / 2,
          `nextReadyAt is not "now" while every ready job waits for a slot (got ${next})`,
        ).toBe(true)
        expect(await queue.remove('a1'), 'a1 ended').toBe(true)
        expect(
          ids(await queue.claim('owner-b', 10, LONG_LEASE_MS)),
          'its slot goes to the next of A',
        ).toEqual(['a3'])
        expect(await queue.remove('b1'), 'b1 ended').toBe(true)
        expect(ids(await queue.claim('owner-c', 10, LONG_LEASE_MS)), 'and B’s to the next of B').toEqual([
          'b2',
        ])
      })

      it('frees a key’s slot when the lease of its job runs out; the old owner cannot renew past the limit', async (context) => {
        const queue = fairOf(context)
        await queue.push(keyed('a1', 'A', { concurrencyLimit: 1, priority: 1 }))
        await queue.push(keyed('a2', 'A', { concurrencyLimit: 1 }))
        expect(ids(await queue.claim('owner-a', 10, 1000)), 'the limit: one of A').toEqual(['a1'])
        expect(await queue.claim('owner-b', 10, LONG_LEASE_MS), 'none while a1’s lease lives').toEqual([])
        await sleep(1300)
        const again = await queue.claim('owner-b', 10, LONG_LEASE_MS)
        expect(
          again.map((job) => [job.agentId, job.redelivered]),
          'once the lease ran out, its job is claimed again (first of its key), still one at a time',
        ).toEqual([['a1', true]])
        expect(await queue.renew('owner-a', ['a1'], LONG_LEASE_MS), 'the old owner lost it').toEqual(['a1'])

        await queue.push(keyed('b1', 'B', { concurrencyLimit: 1 }))
        expect(ids(await queue.claim('owner-a', 10, 1000)), 'b1, under a short lease').toEqual(['b1'])
        await queue.push(keyed('b2', 'B', { concurrencyLimit: 1, priority: 9 }))
        await sleep(1300)
        expect(
          ids(await queue.claim('owner-b', 1, LONG_LEASE_MS)),
          'b1’s lease ran out: the slot goes to b2 (higher priority)',
        ).toEqual(['b2'])
        expect(
          await queue.renew('owner-a', ['b1'], LONG_LEASE_MS),
          'b1’s old owner cannot renew its lapsed lease: B is at its limit',
        ).toEqual(['b1'])
        expect(await queue.claim('owner-c', 10, LONG_LEASE_MS), 'and B stays at one in flight').toEqual([])
      })

      it('refuses an invalid concurrencyKey or concurrencyLimit, naming the field', async (context) => {
        const queue = fairOf(context)
        const refusals: Array<[QueuedJob, string, string]> = [
          [keyed('x', ''), 'concurrencyKey', 'an empty key'],
          [keyed('x', 'k'.repeat(501)), 'concurrencyKey', 'a key over 500 characters'],
          [
            { ...keyed('x', 'A'), concurrencyKey: 7 as never },
            'concurrencyKey',
            'a key that is not a string',
          ],
          [keyed('x', 'A', { concurrencyLimit: 0 }), 'concurrencyLimit', 'a limit of 0'],
          [keyed('x', 'A', { concurrencyLimit: 1.5 }), 'concurrencyLimit', 'a limit that is no integer'],
          [{ ...jobOf('x'), concurrencyLimit: 2 }, 'concurrencyLimit', 'a limit without a key'],
        ]
        for (const [job, field, what] of refusals)
          await expectInvalidOptions(queue.push(job), field, `push with ${what}`)
        if (queue.pushMany) {
          await expectInvalidOptions(
            queue.pushMany([keyed('y1', 'A'), keyed('y2', 'A', { concurrencyLimit: -1 })]),
            'jobs[1].concurrencyLimit',
            'pushMany with a negative limit',
          )
        }
        expect(await queue.nextReadyAt(), 'a refused push queues nothing').toBeUndefined()
      })
    })

    it('removes a job: true once, then false, and a removed job is never claimed', async (context) => {
      const queue = queueOf(context)
      await queue.push(jobOf('j1'))
      await queue.push(jobOf('j2'))
      expect(await queue.remove('j1'), 'remove of a queued job resolves true').toBe(true)
      expect(await queue.remove('j1'), 'a second remove resolves false').toBe(false)
      expect(await queue.remove('never-pushed'), 'remove of an unknown id resolves false').toBe(false)
      expect(
        (await queue.claim('owner-a', 10, LONG_LEASE_MS)).map((job) => job.agentId),
        'a removed job is not claimed',
      ).toEqual(['j2'])
      expect(await queue.remove('j2'), 'a claimed job can be removed (it ended)').toBe(true)
      expect(await queue.renew('owner-a', ['j2'], LONG_LEASE_MS), 'a removed job is no longer held').toEqual([
        'j2',
      ])
    })
  })
}
