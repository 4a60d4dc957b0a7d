import { InvalidOptionsError } from '@runner/core'
import type { ClaimedJob, QueuedJob } from '@runner/core/store'
import { describe, expect, it } from 'vitest'
import { adminPool, databaseUrl, freshSchema } from './test-helpers/database.js'
import { createReleasedSchema, schemaShape } from './test-helpers/old-schemas.js'
import { eventually, rejectionOf, useStores } from './test-helpers/stores.js'

// The durable job queue of PostgresActivityStore (`store.jobQueue`): leased claims shared by every
// process on the schema.

const { open, pool } = useStores('queue')

const HOUR = 3_600_000

function job(agentId: string, extra: Partial<QueuedJob> = {}): QueuedJob {
  return {
    agentId,
    job: { task: 'research', input: { topic: agentId } },
    priority: 0,
    readyAt: Date.now() - 1000,
    ...extra,
  }
}

const idsOf = (claimed: ClaimedJob[]) => claimed.map((item) => item.agentId)

describe.skipIf(!databaseUrl)('PostgresActivityStore jobQueue (DATABASE_URL)', { timeout: 60_000 }, () => {
  it('claims ready jobs by priority (higher first), then in push order, and leaves jobs not ready yet', async () => {
    const queue = open().jobQueue
    const later = Date.now() + HOUR
    await queue.push(job('low-1'))
    await queue.push(job('high-1', { priority: 5 }))
    await queue.push(job('later', { priority: 9, readyAt: later }))
    await queue.push(job('low-2'))
    await queue.push(job('high-2', { priority: 5 }))
    await queue.push(job('negative', { priority: -3 }))
    const claimed = await queue.claim('worker-a', 4, 60_000)
    expect(idsOf(claimed)).toEqual(['high-1', 'high-2', 'low-1', 'low-2'])
    expect(claimed[0]).toEqual({
      agentId: 'high-1',
      job: { task: 'research', input: { topic: 'high-1' } },
      priority: 5,
      readyAt: expect.any(Number),
      redelivered: false,
    })
    expect(idsOf(await queue.claim('worker-a', 10, 60_000))).toEqual(['negative'])
    expect(await queue.claim('worker-a', 10, 60_000), 'the job not ready yet stays queued').toEqual([])
    expect(await queue.nextReadyAt(), 'when the earliest unclaimed job becomes ready').toBe(later)
  })

  it('keeps the job (U+FFFD for a NUL, as every store) and its ready time exactly, refuses a second job with the same agentId, and removes jobs', async () => {
    const queue = open().jobQueue
    const readyAt = Date.now() - 1.5
    const payload = { nested: { text: 'nul \u0000 ok', list: [1, 2.5, null, true] } }
    await queue.push({ agentId: 'a1', job: payload, priority: 2, readyAt })
    const error = await rejectionOf(queue.push(job('a1')))
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect((error as InvalidOptionsError).field).toBe('agentId')
    expect(await queue.nextReadyAt()).toBe(readyAt)
    const [claimed] = await queue.claim('w', 1, 60_000)
    expect(claimed).toEqual({
      agentId: 'a1',
      job: { nested: { text: 'nul \uFFFD ok', list: [1, 2.5, null, true] } },
      priority: 2,
      readyAt,
      redelivered: false,
    })
    expect(await queue.nextReadyAt(), 'a job under a live lease is not waiting for a claim').toBeUndefined()
    expect(await queue.remove('a1')).toBe(true)
    expect(await queue.remove('a1')).toBe(false)
    await queue.push(job('a1'))
    expect(idsOf(await queue.claim('w', 1, 60_000)), 'a removed id can be queued again').toEqual(['a1'])
  })

  it('validates its arguments, naming the field', async () => {
    const queue = open().jobQueue
    const fieldOf = async (promise: Promise<unknown>) => {
      const error = await rejectionOf(promise)
      expect(InvalidOptionsError.isInstance(error)).toBe(true)
      return (error as InvalidOptionsError).field
    }
    expect(await fieldOf(queue.push(job('')))).toBe('agentId')
    expect(await fieldOf(queue.push(job('a', { priority: 1.5 })))).toBe('priority')
    expect(await fieldOf(queue.push(job('a', { readyAt: Number.NaN })))).toBe('readyAt')
    expect(await fieldOf(queue.push(job('a', { job: { big: 10n } as never })))).toBe('job')
    expect(await fieldOf(queue.claim('', 1, 1000))).toBe('owner')
    expect(await fieldOf(queue.claim('w', -1, 1000))).toBe('limit')
    expect(await fieldOf(queue.claim('w', 1, 0))).toBe('leaseMs')
    expect(await fieldOf(queue.renew('w', 'a' as never, 1000))).toBe('agentIds')
    expect(await queue.nextReadyAt(), 'nothing was queued').toBeUndefined()
  })

  it('never hands the same job to two claimers, from two stores on two pools claiming at once', async () => {
    const first = open({ pool: pool({ max: 4 }) })
    const second = open({ pool: pool({ max: 4 }), schema: first.schema })
    const total = 60
    for (let index = 0; index < total; index++) {
      await first.jobQueue.push(job(`job-${index}`, { priority: index % 3 }))
    }
    const claims = new Map<string, string[]>()
    const claimer = async (owner: string, store: typeof first) => {
      const deadline = Date.now() + 30_000
      while ([...claims.values()].flat().length < total) {
        if (Date.now() > deadline) throw new Error(`${owner} gave up with ${claims.size} claims`)
        for (const item of await store.jobQueue.claim(owner, 2, 60_000)) {
          claims.set(item.agentId, [...(claims.get(item.agentId) ?? []), owner])
          expect(item.redelivered).toBe(false)
        }
        // Let the other claimers in between claims, so that they really compete.
        await new Promise((resolve) => setTimeout(resolve, 1))
      }
    }
    await Promise.all([
      claimer('first-a', first),
      claimer('first-b', first),
      claimer('second-a', second),
      claimer('second-b', second),
    ])
    expect(claims.size).toBe(total)
    const twice = [...claims].filter(([, owners]) => owners.length > 1)
    expect(twice, 'no job was handed out twice').toEqual([])
    const owners = new Set([...claims.values()].flat())
    expect(owners.size, 'the claimers shared the work').toBeGreaterThan(1)
    const { rows } = await adminPool().query(
      `SELECT count(*)::int AS count FROM "${first.schema}".jobs WHERE owner IS NULL`,
    )
    expect(rows[0].count).toBe(0)
  })

  it('hands a job whose lease expired to another owner, as redelivered; the first owner learns it lost it', async () => {
    const first = open()
    const second = open({ schema: first.schema })
    await first.jobQueue.push(job('a1'))
    const [claimed] = await first.jobQueue.claim('lost-worker', 5, 1000)
    expect(claimed?.redelivered).toBe(false)
    expect(await second.jobQueue.claim('other', 5, 60_000), 'a live lease is not claimable').toEqual([])

    let redelivered: ClaimedJob[] = []
    await eventually(async () => {
      redelivered = await second.jobQueue.claim('other', 5, 60_000)
      return redelivered.length > 0
    }, 'the expired lease is claimed again')
    expect(redelivered).toEqual([{ ...claimed!, redelivered: true }])
    expect(
      await first.jobQueue.renew('lost-worker', ['a1'], 60_000),
      'the lost owner cannot renew it',
    ).toEqual(['a1'])
    expect(await second.jobQueue.renew('other', ['a1'], 60_000)).toEqual([])
    expect(await first.jobQueue.claim('lost-worker', 5, 60_000), 'the new lease holds').toEqual([])
  })

  it('renews leases: a renewed job is not claimed by another owner, and unknown ids come back as not held', async () => {
    const store = open()
    const queue = store.jobQueue
    await queue.push(job('a1'))
    await queue.push(job('a2'))
    await queue.claim('worker', 2, 1)
    await eventually(async () => {
      const { rows } = await adminPool().query(
        `SELECT bool_and(lease_until < clock_timestamp()) AS expired FROM "${store.schema}".jobs`,
      )
      return rows[0].expired === true
    }, 'both leases expired')
    // Expired, but no other owner claimed them: they are still this owner's, and renewed.
    expect(await queue.renew('worker', ['a1', 'a2', 'a1', 'missing'], 60_000)).toEqual(['missing'])
    expect(await queue.claim('thief', 2, 60_000)).toEqual([])
    expect(await queue.renew('thief', ['a1'], 60_000)).toEqual(['a1'])
    const { rows: owners } = await adminPool().query(
      `SELECT DISTINCT owner FROM "${store.schema}".jobs WHERE lease_until > now() + interval '30 seconds'`,
    )
    expect(owners).toEqual([{ owner: 'worker' }])
  })

  it('keeps its jobs across stores: a new store (a restarted process) claims what an old one pushed', async () => {
    const first = open()
    await first.jobQueue.push(job('a1', { priority: 1 }))
    await first.close()
    const second = open({ schema: first.schema })
    expect(idsOf(await second.jobQueue.claim('w', 5, 60_000))).toEqual(['a1'])
  })

  it('holds each key’s limit while stores on separate pools claim keyed jobs at once (plain claims of unkeyed jobs alongside)', async () => {
    const first = open({ pool: pool({ max: 3 }) })
    const all = [first, ...[1, 2, 3].map(() => open({ pool: pool({ max: 3 }), schema: first.schema }))]
    const keys = ['A', 'B', 'C']
    const limit = 2
    const perKey = 12
    const jobs: QueuedJob[] = []
    for (let index = 0; index < perKey; index++) {
      for (const key of keys)
        jobs.push(job(`${key}-${index}`, { concurrencyKey: key, concurrencyLimit: limit }))
      jobs.push(job(`plain-${index}`))
    }
    await first.jobQueue.pushMany!(jobs)
    const inFlight = new Map<string, number>()
    let most = 0
    const done = new Set<string>()
    const worker = async (owner: string, store: typeof first) => {
      const deadline = Date.now() + 60_000
      while (done.size < jobs.length) {
        if (Date.now() > deadline) throw new Error(`${owner} gave up with ${done.size} jobs done`)
        const claimed = await store.jobQueue.claim(owner, 3, 60_000)
        for (const item of claimed) {
          const key = item.concurrencyKey ?? ''
          inFlight.set(key, (inFlight.get(key) ?? 0) + 1)
          if (key !== '') most = Math.max(most, inFlight.get(key)!)
        }
        await new Promise((resolve) => setTimeout(resolve, 2))
        // Counted out before its removal commits (and in after its claim did): this count is never
        // above the number the queue holds in flight.
        await Promise.all(
          claimed.map(async (item) => {
            const key = item.concurrencyKey ?? ''
            inFlight.set(key, inFlight.get(key)! - 1)
            await store.jobQueue.remove(item.agentId)
            done.add(item.agentId)
          }),
        )
      }
    }
    await Promise.all(
      all.flatMap((store, index) => [worker(`w${index}a`, store), worker(`w${index}b`, store)]),
    )
    expect(done.size, 'every job was claimed').toBe(jobs.length)
    expect(
      most,
      'never more than the limit of one key held at once, over 8 claimers on 4 pools',
    ).toBeLessThanOrEqual(limit)
  })

  it('upgrades the queue of a version-5 schema: its jobs are unkeyed, in their order and leases, and keyed jobs are claimed fairly after', async () => {
    const schema = freshSchema('queue_v5')
    const store = open({ schema })
    await createReleasedSchema(adminPool(), schema, 5)
    const past = Date.now() - 1000
    await adminPool().query(
      `INSERT INTO "${schema}".jobs (agent_id, job, priority, ready_at, owner, lease_until) VALUES
         ('old-held', '{"n":0}', 0, $1, 'old-owner', now() + interval '10 minutes'),
         ('old-1', '{"n":1}', 0, $1, NULL, NULL),
         ('old-2', '{"n":2}', 3, $1, NULL, NULL),
         ('old-lapsed', '{"n":3}', 0, $1, 'gone-owner', now() - interval '1 second')`,
      [past],
    )
    const queue = store.jobQueue
    await queue.push(job('a1', { concurrencyKey: 'A', concurrencyLimit: 1 }))
    await queue.push(job('a2', { concurrencyKey: 'A', concurrencyLimit: 1 }))
    const claimed = await queue.claim('new-owner', 10, 60_000)
    expect(
      claimed.map((item) => [item.agentId, item.redelivered]),
      'the old jobs are unkeyed (one group, one in flight already), served in turn with A, which runs one at a time',
    ).toEqual([
      ['old-2', false],
      ['a1', false],
      ['old-1', false],
      ['old-lapsed', true],
    ])
    expect(claimed[0], 'an old job reads back as it was queued, with no key').toEqual({
      agentId: 'old-2',
      job: { n: 2 },
      priority: 3,
      readyAt: past,
      redelivered: false,
    })
    expect(
      await queue.renew('old-owner', ['old-held'], 60_000),
      'the old lease is still its owner’s',
    ).toEqual([])
    const fresh = open()
    await fresh.countActive()
    expect(await schemaShape(adminPool(), schema), 'the upgraded schema is a new one').toEqual(
      await schemaShape(adminPool(), fresh.schema),
    )
  })
})
