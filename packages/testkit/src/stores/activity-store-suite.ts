import {
  type Activity,
  type ActivityEvent,
  ActivityNotFoundError,
  type ActivityStatus,
  type ActivityStore,
  type ActivitySummary,
  ActivityTransitionError,
  type CreateActivityInput,
  InvalidOptionsError,
  type MetadataFilter,
  RunnerError,
  type Trajectory,
} from '@runner/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { EventReader } from './event-reader.js'

/** What `activityStoreConformanceSuite` needs to test one `ActivityStore` implementation. */
export interface ActivityStoreConformanceSuiteOptions {
  /** Names the implementation in the test titles, such as `'SqliteActivityStore'`. */
  name: string
  /**
   * Returns a new, empty store. Called before every test; the suite closes the store after the
   * test (and some tests close it themselves first, so `close` must be idempotent).
   */
  createStore: () => ActivityStore | Promise<ActivityStore>
  /**
   * Releases what `createStore` set up besides the store: a temporary file, a database schema, a
   * connection pool. Called after every test, after `store.close()`, even when the test failed.
   * Default: nothing.
   */
  closeStore?: (store: ActivityStore) => void | Promise<void>
}

/** The methods of `ActivityStore`, checked on what `createStore` returns. */
const STORE_METHODS = [
  'create',
  'append',
  'get',
  'list',
  'countActive',
  'saveTrajectory',
  'getTrajectory',
  'watch',
  'close',
] as const

/**
 * Registers, as vitest tests, the behaviour every `ActivityStore` must have: one call per
 * implementation, in that implementation's test file.
 *
 * ```ts
 * import { MemoryActivityStore } from '@runner/core'
 * import { activityStoreConformanceSuite } from '@runner/testkit'
 *
 * activityStoreConformanceSuite({ name: 'MemoryActivityStore', createStore: () => new MemoryActivityStore() })
 * ```
 *
 * Covers create, append and every status move, get, list (order, filters, metadata scopes,
 * pagination), countActive, trajectories, watch, the isolation of returned objects and close.
 * Only the public `ActivityStore` interface is used, and errors are recognised with `isInstance`,
 * so the suite holds for stores built against another copy of `@runner/core`.
 */
export function activityStoreConformanceSuite({
  name,
  createStore,
  closeStore,
}: ActivityStoreConformanceSuiteOptions): void {
  describe(`ActivityStore conformance: ${name}`, () => {
    let store: ActivityStore
    /** Whether `createStore` returned, and whether what it returned can be closed. */
    let returned = false
    let closable = false

    beforeEach(async () => {
      returned = false
      closable = false
      try {
        store = await createStore()
        returned = true
      } catch (error) {
        throw new Error(`${name}: createStore() threw before the test could run: ${errorText(error)}`, {
          cause: error,
        })
      }
      const missing = STORE_METHODS.filter(
        (method) => typeof (store as unknown as Record<string, unknown> | undefined)?.[method] !== 'function',
      )
      if (missing.length > 0) {
        throw new Error(
          `${name}: createStore() must return an ActivityStore, but what it returned has no ${missing.join(', ')} method.`,
        )
      }
      closable = true
      const { total } = await store.list({ limit: 1 })
      if (total !== 0) {
        throw new Error(
          `${name}: createStore() must return a new, empty store for every test, but this one already holds ${total} activit${total === 1 ? 'y' : 'ies'}.`,
        )
      }
    })

    afterEach(async () => {
      if (!returned) return
      try {
        if (closable) await store.close()
      } finally {
        await closeStore?.(store)
      }
    })

    /** Creates an activity with defaults for what the test does not care about. */
    const create = (agentId: string, extra: Partial<CreateActivityInput> = {}) =>
      store.create({ agentId, agentType: 'test', message: 'Waiting to start', ...extra })

    /** Creates an activity and moves it through `path`. */
    const createIn = async (
      agentId: string,
      status: ActivityStatus,
      extra: Partial<CreateActivityInput> = {},
    ) => {
      await create(agentId, extra)
      for (const step of pathTo[status]) await store.append(agentId, { status: step, message: `to ${step}` })
      return (await store.get(agentId))!
    }

    const listIds = async (options: Parameters<ActivityStore['list']>[0] = {}) =>
      (await store.list({ limit: 1000, ...options })).items.map((item) => item.agentId)

    describe('create', () => {
      it('creates a queued activity with one log entry', async () => {
        const created = await create('a1', {
          agentType: 'research',
          message: 'Waiting',
          metadata: { tenant: 't1' },
        })
        expect(created).toEqual({
          agentId: 'a1',
          agentType: 'research',
          status: 'queued',
          message: 'Waiting',
          percentage: 0,
          metadata: { tenant: 't1' },
          createdAt: expect.any(String),
          updatedAt: expect.any(String),
          log: [{ status: 'queued', message: 'Waiting', percentage: 0, at: expect.any(String) }],
        })
        expectIsoTime(created.createdAt)
        expect(created.updatedAt).toBe(created.createdAt)
        expect(created.log[0]!.at).toBe(created.createdAt)
        expect(
          'startedAt' in created,
          'a queued activity has no startedAt key (omit it, do not set undefined)',
        ).toBe(false)
        expect('finishedAt' in created, 'an active activity has no finishedAt key').toBe(false)
        expect(await store.get('a1')).toEqual(created)
      })

      it('defaults metadata to an empty object and keeps nested metadata as given', async () => {
        expect((await create('plain')).metadata).toEqual({})
        const metadata = { tenant: 't1', user: { id: 7, roles: ['admin'] }, flag: false, none: null }
        await create('nested', { metadata })
        expect((await store.get('nested'))!.metadata).toEqual(metadata)
      })

      it('refuses a duplicate agentId with InvalidOptionsError on agentId and changes nothing', async () => {
        const original = await create('dup', { message: 'first' })
        const error = await expectInvalidOptions(
          create('dup', { agentType: 'other', message: 'second' }),
          'agentId',
        )
        expect(error.message).toContain('dup')
        expect(await store.get('dup')).toEqual(original)
        expect((await store.list()).total).toBe(1)
      })

      it.each([
        ['agentId', { agentId: '' }],
        ['agentId', { agentId: 42 }],
        ['agentType', { agentType: '' }],
        ['agentType', { agentType: undefined }],
        ['message', { message: 7 }],
        ['metadata', { metadata: 'tenant=t1' }],
        ['metadata', { metadata: ['t1'] }],
      ])('refuses invalid input naming %s, and writes nothing', async (field, override) => {
        const input = { agentId: 'bad', agentType: 'test', message: 'Waiting', ...override }
        await expectInvalidOptions(store.create(input as unknown as CreateActivityInput), field)
        expect((await store.list()).total).toBe(0)
        expect(await store.countActive()).toBe(0)
      })
    })

    describe('append', () => {
      for (const from of STATUSES) {
        for (const to of STATUSES) {
          const legal = LEGAL_MOVES[from].includes(to)
          it(`${legal ? 'applies' : 'refuses'} ${from} -> ${to}`, async () => {
            const before = await createIn('a1', from)
            expect(before.status).toBe(from)
            if (legal) {
              const after = await store.append('a1', { status: to, message: `now ${to}`, percentage: 40 })
              expect(after.status, `append must return the activity after the move ${from} -> ${to}`).toBe(to)
              expect(after.message).toBe(`now ${to}`)
              expect(after.percentage).toBe(40)
              expect(after.log).toHaveLength(before.log.length + 1)
              expect(after.log.at(-1)).toEqual({
                status: to,
                message: `now ${to}`,
                percentage: 40,
                at: after.updatedAt,
              })
              expect(await store.get('a1'), 'get must return what append returned').toEqual(after)
            } else {
              const error = await expectRefused(
                store.append('a1', { status: to, message: 'illegal', percentage: 40 }),
                ActivityTransitionError,
                `the illegal move ${from} -> ${to}`,
              )
              expect(error, 'the ActivityTransitionError must name the activity and the move').toMatchObject({
                agentId: 'a1',
                from,
                to,
              })
              expect(await store.get('a1'), 'a refused move must change nothing').toEqual(before)
            }
          })
        }
      }

      it('refuses every update once terminal, however many are tried, and writes nothing', async () => {
        for (const terminal of ['complete', 'error', 'canceled'] as const) {
          const before = await createIn(`t-${terminal}`, terminal)
          for (const to of STATUSES) {
            await expectRefused(
              store.append(`t-${terminal}`, { status: to, message: 'again' }),
              ActivityTransitionError,
              `the move ${terminal} -> ${to} (a terminal status is final)`,
            )
          }
          expect(await store.get(`t-${terminal}`), 'refused updates must change nothing').toEqual(before)
        }
        expect(await store.countActive()).toBe(0)
      })

      it('refuses an unknown agentId with ActivityNotFoundError and creates nothing', async () => {
        const error = await expectRefused(
          store.append('missing', { status: 'running', message: 'Started' }),
          ActivityNotFoundError,
          'append to an unknown agentId',
        )
        expect(error, 'the ActivityNotFoundError must name the agentId').toMatchObject({ agentId: 'missing' })
        expect(await store.get('missing')).toBeUndefined()
        expect((await store.list()).total).toBe(0)
      })

      it.each([
        ['status', { status: 'done', message: 'x' }],
        ['status', { message: 'x' }],
        ['message', { status: 'running', message: 42 }],
        ['message', { status: 'running' }],
      ])('refuses invalid input naming %s, and writes nothing', async (field, entry) => {
        const before = await create('a1')
        await expectInvalidOptions(store.append('a1', entry as never), field)
        expect(await store.get('a1')).toEqual(before)
      })

      it.each([1.5, -1, 101, Number.NaN, Number.POSITIVE_INFINITY, '50'])(
        'refuses percentage %s with InvalidOptionsError on percentage, and writes nothing',
        async (percentage) => {
          const before = await createIn('a1', 'running')
          await expectInvalidOptions(
            store.append('a1', { status: 'running', message: 'x', percentage: percentage as number }),
            'percentage',
          )
          expect(await store.get('a1')).toEqual(before)
        },
      )

      it('accepts the bounds 0 and 100, and keeps the previous percentage on null or omitted', async () => {
        await create('a1')
        expect(
          (await store.append('a1', { status: 'running', message: 'start', percentage: 0 })).percentage,
        ).toBe(0)
        expect(
          (await store.append('a1', { status: 'running', message: 'half', percentage: 55 })).percentage,
        ).toBe(55)
        const kept = await store.append('a1', { status: 'running', message: 'still', percentage: null })
        expect(kept.percentage).toBe(55)
        expect(kept.log.at(-1)!.percentage).toBeNull()
        const omitted = await store.append('a1', { status: 'running', message: 'again' })
        expect(omitted.percentage).toBe(55)
        expect(omitted.log.at(-1)!.percentage).toBeNull()
        const done = await store.append('a1', { status: 'complete', message: 'done', percentage: 100 })
        expect(done.percentage).toBe(100)
        expect((await store.get('a1'))!.percentage).toBe(100)
      })

      it('sets startedAt on the first running entry, finishedAt on the terminal one, updatedAt on each', async () => {
        const created = await create('a1')
        const started = await store.append('a1', { status: 'running', message: 'Started' })
        expect(started.startedAt).toBe(started.log[1]!.at)
        expect(started.updatedAt).toBe(started.log[1]!.at)
        expect('finishedAt' in started, 'an active activity has no finishedAt key').toBe(false)
        expect(started.createdAt).toBe(created.createdAt)

        const again = await store.append('a1', { status: 'running', message: 'Working' })
        expect(again.startedAt).toBe(started.startedAt)
        expect(again.updatedAt).toBe(again.log[2]!.at)

        const done = await store.append('a1', { status: 'complete', message: 'Complete', percentage: 100 })
        expect(done.startedAt).toBe(started.startedAt)
        expect(done.finishedAt).toBe(done.log[3]!.at)
        expect(done.updatedAt).toBe(done.finishedAt)
        expect(done.createdAt).toBe(created.createdAt)
        for (const time of [done.createdAt, done.startedAt!, done.finishedAt!]) expectIsoTime(time)
        expect(done.createdAt <= done.startedAt!, 'createdAt must not be after startedAt').toBe(true)
        expect(done.startedAt! <= done.finishedAt!, 'startedAt must not be after finishedAt').toBe(true)
        const times = done.log.map((entry) => entry.at)
        expect([...times].sort()).toEqual(times)
      })

      it.each(['canceled', 'error'] as const)(
        'sets finishedAt but no startedAt when a queued activity moves straight to %s',
        async (status) => {
          await create('a1')
          const ended = await store.append('a1', { status, message: 'ended early' })
          expect('startedAt' in ended, `an activity that never ran has no startedAt key`).toBe(false)
          expect(ended.finishedAt).toBe(ended.log[1]!.at)
          expect(ended.updatedAt).toBe(ended.finishedAt)
        },
      )

      it('keeps the log in append order, and the summary follows the latest entry', async () => {
        await create('a1', { message: 'm-queued' })
        for (let index = 0; index < 12; index++) {
          await store.append('a1', {
            status: 'running',
            message: `m${index}`,
            percentage: index % 3 ? null : index,
          })
        }
        const activity = (await store.get('a1'))!
        expect(activity.log.map((entry) => entry.message)).toEqual([
          'm-queued',
          ...Array.from({ length: 12 }, (_, index) => `m${index}`),
        ])
        expect(activity.log.map((entry) => entry.percentage)).toEqual([
          0,
          ...Array.from({ length: 12 }, (_, index) => (index % 3 ? null : index)),
        ])
        expect(activity.message).toBe('m11')
        expect(activity.percentage).toBe(9)
        expect(activity.status).toBe('running')
      })
    })

    describe('get', () => {
      it('returns undefined for an unknown agentId', async () => {
        await create('a1')
        expect(await store.get('missing')).toBeUndefined()
      })

      it('returns the activity only when its metadata matches the scope', async () => {
        await create('a1', { metadata: { tenant: 't1', region: 'eu' } })
        expect((await store.get('a1', { metadata: { tenant: 't1' } }))?.agentId).toBe('a1')
        expect((await store.get('a1', { metadata: { tenant: 't1', region: 'eu' } }))?.agentId).toBe('a1')
        expect(await store.get('a1', { metadata: { tenant: 't2' } })).toBeUndefined()
        expect(await store.get('a1', { metadata: { tenant: 't1', region: 'us' } })).toBeUndefined()
        expect(await store.get('a1', { metadata: { missing: null } })).toBeUndefined()
        expect((await store.get('a1', { metadata: {} }))?.agentId).toBe('a1')
      })

      it('refuses a metadata scope that is not key -> primitive, naming metadata', async () => {
        await create('a1')
        await expectInvalidOptions(
          store.get('a1', { metadata: { tenant: { id: 1 } } as unknown as MetadataFilter }),
          'metadata',
        )
      })
    })

    describe('list', () => {
      it('returns an empty page for an empty store', async () => {
        expect(await store.list()).toEqual({ items: [], total: 0 })
      })

      it('orders active activities first, then the rest, each newest first', async () => {
        for (const agentId of ['a1', 'a2', 'a3', 'a4', 'a5', 'a6']) await create(agentId)
        await store.append('a2', { status: 'running', message: 'Started' })
        await store.append('a2', { status: 'complete', message: 'Complete' })
        await store.append('a4', { status: 'canceled', message: 'Canceled' })
        await store.append('a3', { status: 'running', message: 'Started' })
        await store.append('a1', { status: 'running', message: 'Started' })
        expect(await listIds()).toEqual(['a6', 'a5', 'a3', 'a1', 'a4', 'a2'])

        // An update does not make an activity newer; finishing it moves it to the second group.
        await store.append('a5', { status: 'error', message: 'Failed' })
        expect(await listIds()).toEqual(['a6', 'a3', 'a1', 'a5', 'a4', 'a2'])
      })

      it('returns summaries: the current state without the log', async () => {
        await createIn('a1', 'complete', { metadata: { tenant: 't1' } })
        await createIn('a2', 'running')
        const { items } = await store.list()
        expect(items).toHaveLength(2)
        for (const item of items) {
          expect('log' in item, 'list returns summaries, without the log').toBe(false)
          const { log: _log, ...summary } = (await store.get(item.agentId))!
          expect(item).toEqual(summary)
        }
      })

      it('filters by one status or several, with a matching total', async () => {
        await createIn('q1', 'queued')
        await createIn('r1', 'running')
        await createIn('r2', 'running')
        await createIn('c1', 'complete')
        await createIn('e1', 'error')
        await createIn('x1', 'canceled')
        expect(await listIds({ status: 'running' })).toEqual(['r2', 'r1'])
        expect((await store.list({ status: 'running' })).total).toBe(2)
        expect(await listIds({ status: ['complete', 'canceled'] })).toEqual(['x1', 'c1'])
        expect(await listIds({ status: ['queued', 'error'] })).toEqual(['q1', 'e1'])
        expect(
          (await store.list({ status: ['queued', 'running', 'complete', 'error', 'canceled'] })).total,
        ).toBe(6)
        expect(await store.list({ status: 'running', metadata: { nobody: 1 } })).toEqual({
          items: [],
          total: 0,
        })
      })

      it('refuses an unknown status, naming status', async () => {
        await expectInvalidOptions(store.list({ status: 'done' as ActivityStatus }), 'status')
        await expectInvalidOptions(store.list({ status: ['running', 'done'] as ActivityStatus[] }), 'status')
      })

      describe('metadata filter', () => {
        const records: Record<string, Record<string, unknown>> = {
          num: { tenant: 'acme', n: 1 },
          str: { tenant: 'acme', n: '1' },
          float: { tenant: 'other', n: 1.5 },
          yes: { flag: true },
          yesText: { flag: 'true' },
          yesNum: { flag: 1 },
          no: { flag: false },
          noNum: { flag: 0 },
          nul: { v: null },
          nulText: { v: 'null' },
          nothing: {},
          dotted: { 'a.b': 'x' },
          nested: { a: { b: 'x' } },
          quoted: { 'say "hi"': 'q', "it's": 'x', 'x[0]': 'y', 'back\\slash': 'z', $: 'dollar', '': 'empty' },
          tags: { tags: ['x'] },
          tagsText: { tags: 'x' },
          unicode: { ünï: 'çödé', emoji: '🚀' },
        }

        const cases: Array<[string, MetadataFilter, string[]]> = [
          ['one key', { tenant: 'acme' }, ['num', 'str']],
          ['keys ANDed', { tenant: 'acme', n: 1 }, ['num']],
          ['keys ANDed, no record has both', { tenant: 'other', n: 1 }, []],
          ['number 1 is not the string "1"', { n: 1 }, ['num']],
          ['string "1" is not the number 1', { n: '1' }, ['str']],
          ['non-integer number', { n: 1.5 }, ['float']],
          ['true is not "true" or 1', { flag: true }, ['yes']],
          ['"true" is not true', { flag: 'true' }, ['yesText']],
          ['1 is not true', { flag: 1 }, ['yesNum']],
          ['false is not 0', { flag: false }, ['no']],
          ['0 is not false', { flag: 0 }, ['noNum']],
          ['null matches only null, not a missing key', { v: null }, ['nul']],
          ['"null" is not null', { v: 'null' }, ['nulText']],
          ['a dotted key is one key, not a path', { 'a.b': 'x' }, ['dotted']],
          ['a key with double quotes', { 'say "hi"': 'q' }, ['quoted']],
          ['a key with a single quote', { "it's": 'x' }, ['quoted']],
          ['a key with brackets', { 'x[0]': 'y' }, ['quoted']],
          ['a key with a backslash', { 'back\\slash': 'z' }, ['quoted']],
          ['the key $', { $: 'dollar' }, ['quoted']],
          ['the empty key', { '': 'empty' }, ['quoted']],
          ['an array never equals a string', { tags: 'x' }, ['tagsText']],
          ['unicode keys and values', { ünï: 'çödé', emoji: '🚀' }, ['unicode']],
          ['a missing key matches nothing', { absent: 'x' }, []],
          ['an empty filter matches everything', {}, Object.keys(records)],
        ]

        it.each(cases)(
          '%s: list, total, get, countActive and getTrajectory agree',
          async (_, filter, expected) => {
            for (const [agentId, metadata] of Object.entries(records)) {
              await create(agentId, { metadata })
              await store.saveTrajectory(agentId, trajectoryOf(agentId))
            }
            const page = await store.list({ metadata: filter, limit: 1000 })
            expect(page.items.map((item) => item.agentId).sort()).toEqual([...expected].sort())
            expect(page.total).toBe(expected.length)
            expect(await store.countActive({ metadata: filter })).toBe(expected.length)
            for (const agentId of Object.keys(records)) {
              const visible = expected.includes(agentId)
              expect((await store.get(agentId, { metadata: filter }))?.agentId).toBe(
                visible ? agentId : undefined,
              )
              expect((await store.getTrajectory(agentId, { metadata: filter }))?.agentId).toBe(
                visible ? agentId : undefined,
              )
            }
          },
        )

        it('refuses a filter value that is not a primitive, naming metadata', async () => {
          await expectInvalidOptions(
            store.list({ metadata: { tenant: ['acme'] } as unknown as MetadataFilter }),
            'metadata',
          )
          await expectInvalidOptions(
            store.countActive({ metadata: { tenant: { id: 1 } } as unknown as MetadataFilter }),
            'metadata',
          )
        })
      })

      it('hides non-matching activities from get, list, countActive and getTrajectory', async () => {
        await createIn('mine', 'running', { metadata: { tenant: 't1' } })
        await createIn('theirs', 'running', { metadata: { tenant: 't2' } })
        await createIn('theirs-done', 'complete', { metadata: { tenant: 't2' } })
        await store.saveTrajectory('theirs', trajectoryOf('theirs'))
        await store.saveTrajectory('mine', trajectoryOf('mine'))
        const scope = { metadata: { tenant: 't1' } }
        expect(await store.get('theirs', scope)).toBeUndefined()
        expect(await store.getTrajectory('theirs', scope)).toBeUndefined()
        expect(await store.list(scope)).toEqual({
          items: [expect.objectContaining({ agentId: 'mine' })],
          total: 1,
        })
        expect(await store.countActive(scope)).toBe(1)
        expect((await store.getTrajectory('mine', scope))?.agentId).toBe('mine')
        expect(await store.countActive({ metadata: { tenant: 't2' } })).toBe(1)
        expect(await store.countActive()).toBe(2)
      })

      describe('pagination', () => {
        /** Follows nextCursor until the end, checking each page. */
        const allPages = async (options: Parameters<ActivityStore['list']>[0]) => {
          const pages: ActivitySummary[][] = []
          let cursor: string | undefined
          const totals = new Set<number>()
          do {
            const page = await store.list({ ...options, ...(cursor === undefined ? {} : { cursor }) })
            pages.push(page.items)
            totals.add(page.total)
            cursor = page.nextCursor
            if (cursor !== undefined) expect(page.items).toHaveLength(options?.limit ?? 50)
            expect(pages.length).toBeLessThan(100)
          } while (cursor !== undefined)
          return { pages, totals: [...totals] }
        }

        const seed = async () => {
          const statuses: ActivityStatus[] = [
            'queued',
            'complete',
            'running',
            'canceled',
            'queued',
            'error',
            'running',
          ]
          for (const [index, status] of statuses.entries()) {
            await createIn(`p${index}`, status, { metadata: { even: index % 2 === 0 } })
          }
          return listIds()
        }

        it.each([1, 2, 3, 7, 10])(
          'visits every activity exactly once, in order, with limit %i',
          async (limit) => {
            const expected = await seed()
            expect(expected).toEqual(['p6', 'p4', 'p2', 'p0', 'p5', 'p3', 'p1'])
            const { pages, totals } = await allPages({ limit })
            expect(pages.flat().map((item) => item.agentId)).toEqual(expected)
            expect(pages).toHaveLength(Math.ceil(expected.length / limit))
            expect(totals).toEqual([expected.length])
          },
        )

        it('paginates a filtered list, with the filter total on every page', async () => {
          await seed()
          const byStatus = await allPages({ status: ['queued', 'complete', 'error'], limit: 2 })
          expect(byStatus.pages.flat().map((item) => item.agentId)).toEqual(['p4', 'p0', 'p5', 'p1'])
          expect(byStatus.totals).toEqual([4])
          const byMetadata = await allPages({ metadata: { even: true }, limit: 3 })
          expect(byMetadata.pages.flat().map((item) => item.agentId)).toEqual(['p6', 'p4', 'p2', 'p0'])
          expect(byMetadata.totals).toEqual([4])
        })

        it('gives no nextCursor when the last page is exactly full', async () => {
          for (let index = 0; index < 4; index++) await create(`a${index}`)
          const first = await store.list({ limit: 2 })
          expect(first.nextCursor).toEqual(expect.any(String))
          const second = await store.list({ limit: 2, cursor: first.nextCursor! })
          expect(second.items.map((item) => item.agentId)).toEqual(['a1', 'a0'])
          expect(second.nextCursor).toBeUndefined()
          expect((await store.list({ limit: 4 })).nextCursor).toBeUndefined()
        })

        it('does not repeat or skip activities created while paging', async () => {
          for (let index = 0; index < 5; index++) await create(`old${index}`)
          const first = await store.list({ limit: 2 })
          await create('new0')
          const rest = await allPages({ limit: 2, cursor: first.nextCursor! })
          const seen = [...first.items, ...rest.pages.flat()].map((item) => item.agentId)
          expect(seen).toEqual(['old4', 'old3', 'old2', 'old1', 'old0'])
        })

        it('uses a default page size of 50', async () => {
          for (let index = 0; index < 51; index++) await create(`a${String(index).padStart(2, '0')}`)
          const first = await store.list()
          expect(first.items).toHaveLength(50)
          expect(first.total).toBe(51)
          const second = await store.list({ cursor: first.nextCursor! })
          expect(second.items.map((item) => item.agentId)).toEqual(['a00'])
          expect(second.nextCursor).toBeUndefined()
        })

        it.each([
          'not-a-cursor',
          '',
          Buffer.from('[2,5]').toString('base64url'),
          Buffer.from('[1,1.5]').toString('base64url'),
          Buffer.from('{"active":1,"seq":3}').toString('base64url'),
        ])('refuses the cursor %j, naming cursor', async (cursor) => {
          await create('a1')
          await expectInvalidOptions(store.list({ cursor }), 'cursor')
        })

        it.each([0, -1, 1001, 2.5])('refuses limit %s, naming limit', async (limit) => {
          await expectInvalidOptions(store.list({ limit }), 'limit')
        })

        it('accepts limits 1 and 1000', async () => {
          await create('a1')
          await create('a2')
          expect((await store.list({ limit: 1 })).items.map((item) => item.agentId)).toEqual(['a2'])
          expect((await store.list({ limit: 1000 })).items).toHaveLength(2)
        })
      })
    })

    describe('countActive', () => {
      it('counts queued and running activities only', async () => {
        expect(await store.countActive()).toBe(0)
        await createIn('q', 'queued')
        await createIn('r', 'running')
        await createIn('c', 'complete')
        await createIn('e', 'error')
        await createIn('x', 'canceled')
        expect(await store.countActive()).toBe(2)
        await store.append('r', { status: 'complete', message: 'Complete' })
        expect(await store.countActive()).toBe(1)
        await store.append('q', { status: 'canceled', message: 'Canceled' })
        expect(await store.countActive()).toBe(0)
      })
    })

    describe('trajectories', () => {
      it('returns undefined until one is saved, then the saved one, then its replacement', async () => {
        await createIn('a1', 'complete')
        expect(await store.getTrajectory('a1')).toBeUndefined()
        expect(await store.getTrajectory('missing')).toBeUndefined()
        const first = trajectoryOf('a1')
        await store.saveTrajectory('a1', first)
        expect(await store.getTrajectory('a1')).toEqual(first)
        const second: Trajectory = { ...trajectoryOf('a1'), status: 'error', steps: [] }
        await store.saveTrajectory('a1', second)
        expect(await store.getTrajectory('a1')).toEqual(second)
      })

      it('keeps trajectories apart per activity', async () => {
        await create('a1')
        await create('a2')
        await store.saveTrajectory('a1', trajectoryOf('a1'))
        await store.saveTrajectory('a2', { ...trajectoryOf('a2'), status: 'canceled' })
        expect((await store.getTrajectory('a1'))?.status).toBe('complete')
        expect((await store.getTrajectory('a2'))?.status).toBe('canceled')
      })

      it('refuses to save the trajectory of an unknown activity', async () => {
        await expectRefused(
          store.saveTrajectory('missing', trajectoryOf('missing')),
          ActivityNotFoundError,
          'saveTrajectory for an unknown agentId',
        )
        expect(await store.getTrajectory('missing')).toBeUndefined()
      })
    })

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
          store.watch(filter, controller.signal),
          `store.watch(${JSON.stringify(filter)})`,
        )

      it('pushes the create and every append, in order, each with its entry and the activity after it', async () => {
        const reader = watch()
        const created = await create('a1', { metadata: { tenant: 't1' } })
        const createdEvent = await reader.next()
        expect(createdEvent).toEqual({ agentId: 'a1', activity: summaryOf(created), entry: created.log[0] })

        const started = await store.append('a1', { status: 'running', message: 'Started', percentage: 10 })
        expect(await reader.next()).toEqual({
          agentId: 'a1',
          activity: summaryOf(started),
          entry: started.log[1],
        })

        const done = await store.append('a1', { status: 'complete', message: 'Complete', percentage: 100 })
        expect(await reader.next()).toEqual({ agentId: 'a1', activity: summaryOf(done), entry: done.log[2] })
      })

      it('delivers a burst of changes completely, in order, without duplicates', async () => {
        const reader = watch()
        await create('a1')
        await create('a2')
        for (let index = 0; index < 30; index++) {
          await store.append(index % 2 ? 'a1' : 'a2', { status: 'running', message: `m${index}` })
        }
        const events = await reader.take(32)
        expect(events.map((event) => `${event.agentId}:${event.entry.message}`)).toEqual([
          'a1:Waiting to start',
          'a2:Waiting to start',
          ...Array.from({ length: 30 }, (_, index) => `${index % 2 ? 'a1' : 'a2'}:m${index}`),
        ])
        const last = events.at(-1)!
        const { log: _log, ...summary } = (await store.get(last.agentId))!
        expect(last.activity).toEqual(summary)
        await reader.expectNone(150)
      })

      it('does not deliver changes made before watch was called', async () => {
        await create('before')
        await store.append('before', { status: 'running', message: 'Started' })
        const reader = watch()
        await create('after')
        const event = await reader.next()
        expect(event.agentId).toBe('after')
        expect(event.entry.status).toBe('queued')
      })

      it('filters by agentId', async () => {
        const reader = watch({ agentId: 'b' })
        await create('a')
        await create('b')
        await store.append('a', { status: 'running', message: 'a runs' })
        await store.append('b', { status: 'running', message: 'b runs' })
        await store.append('a', { status: 'complete', message: 'a done' })
        await store.append('b', { status: 'canceled', message: 'b canceled' })
        const events = await reader.take(3)
        expect(events.map((event) => [event.agentId, event.entry.message])).toEqual([
          ['b', 'Waiting to start'],
          ['b', 'b runs'],
          ['b', 'b canceled'],
        ])
      })

      it('filters by metadata with the same type-exact, ANDed equality as list', async () => {
        const reader = watch({ metadata: { tenant: 'acme', tier: 1 } })
        await create('other-tenant', { metadata: { tenant: 'globex', tier: 1 } })
        await create('string-tier', { metadata: { tenant: 'acme', tier: '1' } })
        await create('no-tier', { metadata: { tenant: 'acme' } })
        await create('match', { metadata: { tenant: 'acme', tier: 1, extra: true } })
        await store.append('other-tenant', { status: 'running', message: 'x' })
        await store.append('match', { status: 'running', message: 'match runs' })
        const events = await reader.take(2)
        expect(events.map((event) => [event.agentId, event.entry.message])).toEqual([
          ['match', 'Waiting to start'],
          ['match', 'match runs'],
        ])
        await store.append('string-tier', { status: 'running', message: 'x' })
        await reader.expectNone(150)
      })

      it('gives every watcher every event', async () => {
        const first = watch()
        const second = watch({ agentId: 'a1' })
        await create('a1')
        await store.append('a1', { status: 'running', message: 'Started' })
        expect((await first.take(2)).map((event) => event.entry.status)).toEqual(['queued', 'running'])
        expect((await second.take(2)).map((event) => event.entry.status)).toEqual(['queued', 'running'])
      })

      it('ends when the signal aborts, also while waiting for an event', async () => {
        const reader = watch()
        await create('a1')
        await reader.next()
        const waiting = reader.expectEnd()
        controller.abort()
        await waiting
      })

      it('ends at once for a signal that is already aborted', async () => {
        controller.abort()
        const reader = watch()
        await create('a1')
        await reader.expectEnd()
      })

      it('keeps other watchers running when one consumer stops early', async () => {
        const stopping = watch()
        const staying = watch()
        await create('a1')
        await stopping.next()
        await stopping.return()
        await store.append('a1', { status: 'running', message: 'Started' })
        expect((await staying.take(2)).map((event) => event.entry.status)).toEqual(['queued', 'running'])
      })

      it('ends pending iterations on close', async () => {
        const reader = watch()
        await create('a1')
        await reader.next()
        const waiting = reader.expectEnd()
        await store.close()
        await waiting
      })
    })

    describe('isolation of returned objects', () => {
      it('is not changed by mutating what create, append, get or list return, or the input', async () => {
        const metadata: Record<string, unknown> = { tenant: 't1', tags: ['a'] }
        const created = await create('a1', { metadata })
        metadata.tenant = 'hacked'
        ;(metadata.tags as string[]).push('b')
        mutate(created)
        const appended = await store.append('a1', { status: 'running', message: 'Started', percentage: 10 })
        const snapshot = structuredClone(appended)
        mutate(appended)
        mutate((await store.get('a1'))!)
        for (const item of (await store.list()).items) mutate(item)
        expect(await store.get('a1')).toEqual(snapshot)
        expect(snapshot.metadata).toEqual({ tenant: 't1', tags: ['a'] })
      })

      it('is not changed by mutating a trajectory after saving it or after reading it', async () => {
        await create('a1')
        const trajectory = trajectoryOf('a1')
        const saved = structuredClone(trajectory)
        await store.saveTrajectory('a1', trajectory)
        trajectory.steps.push({ ...trajectory.steps[0]!, index: 9 })
        trajectory.usage.totalTokens = 0
        const read = (await store.getTrajectory('a1'))!
        read.steps.length = 0
        read.status = 'error'
        expect(await store.getTrajectory('a1')).toEqual(saved)
      })

      it('is not changed by mutating a watch event', async () => {
        const controller = new AbortController()
        const reader = new EventReader(store.watch({}, controller.signal), 'store.watch({})')
        const created = await create('a1', { metadata: { tenant: 't1' } })
        const event = await reader.next()
        event.activity.metadata.tenant = 'hacked'
        event.activity.status = 'complete'
        event.entry.message = 'hacked'
        expect(await store.get('a1')).toEqual(created)
        await store.append('a1', { status: 'running', message: 'Started' })
        expect((await reader.next()).activity).toMatchObject({
          status: 'running',
          metadata: { tenant: 't1' },
        })
        controller.abort()
      })
    })

    describe('close', () => {
      it('refuses writes after close with a RunnerError, and can be called twice', async () => {
        await create('a1')
        await store.close()
        await store.close()
        for (const [what, call] of [
          ['create after close', () => create('a2')],
          ['append after close', () => store.append('a1', { status: 'running', message: 'Started' })],
          ['saveTrajectory after close', () => store.saveTrajectory('a1', trajectoryOf('a1'))],
        ] as const) {
          const error = await expectRefused(call(), RunnerError, what)
          expect((error as Error).message, `the error of ${what} must say the store is closed`).toMatch(
            /closed/i,
          )
        }
      })

      it('ends a watch started after close, or refuses it', async () => {
        await store.close()
        let iterable: AsyncIterable<ActivityEvent>
        try {
          iterable = store.watch({}, new AbortController().signal)
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
  })
}

const STATUSES: readonly ActivityStatus[] = ['queued', 'running', 'complete', 'error', 'canceled']

/** The lifecycle as DESIGN.md states it, written out here so that the suite checks the stores' table. */
const LEGAL_MOVES: Record<ActivityStatus, readonly ActivityStatus[]> = {
  queued: ['running', 'canceled', 'error'],
  running: ['running', 'complete', 'error', 'canceled'],
  complete: [],
  error: [],
  canceled: [],
}

/** Appends that bring a new (queued) activity to each status. */
const pathTo: Record<ActivityStatus, ActivityStatus[]> = {
  queued: [],
  running: ['running'],
  complete: ['running', 'complete'],
  error: ['running', 'error'],
  canceled: ['canceled'],
}

function summaryOf(activity: Activity): ActivitySummary {
  const { log: _log, ...summary } = activity
  return summary
}

function trajectoryOf(agentId: string): Trajectory {
  return {
    agentId,
    agentType: 'test',
    status: 'complete',
    startedAt: '2025-01-01T00:00:00.000Z',
    finishedAt: '2025-01-01T00:00:01.500Z',
    usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15, cachedInputTokens: 2 },
    steps: [
      {
        index: 0,
        kind: 'model-call',
        attempt: 1,
        turn: 1,
        at: '2025-01-01T00:00:00.100Z',
        durationMs: 900,
        data: { model: 'fake', text: 'héllo "quoted"', nested: { list: [1, null, true] } },
      },
      {
        index: 1,
        kind: 'status',
        attempt: 1,
        turn: 1,
        at: '2025-01-01T00:00:01.000Z',
        data: { message: 'Done' },
      },
    ],
  }
}

/** Scribbles over everything an object returned by the store holds. */
function mutate(activity: ActivitySummary | Activity): void {
  activity.status = 'canceled'
  activity.message = 'hacked'
  activity.percentage = 99
  activity.metadata.tenant = 'hacked'
  activity.metadata.injected = true
  if ('log' in activity) {
    activity.log.push({ status: 'error', message: 'hacked', percentage: 1, at: activity.updatedAt })
    activity.log[0]!.message = 'hacked'
  }
}

function expectIsoTime(value: string): void {
  const parsed = new Date(value)
  expect(
    Number.isNaN(parsed.getTime()) ? 'an invalid date' : parsed.toISOString(),
    `times must be ISO 8601 in UTC with milliseconds, like 2025-01-01T00:00:00.000Z; got ${JSON.stringify(value)}`,
  ).toBe(value)
}

/** The error `promise` rejects with; fails the test, naming `what`, if it resolves. */
async function rejectionOf(promise: Promise<unknown>, what = 'the call'): Promise<unknown> {
  let value: unknown
  try {
    value = await promise
  } catch (error) {
    return error
  }
  throw new Error(`Expected ${what} to be refused, but it succeeded and returned ${preview(value)}.`)
}

/** An error class of `@runner/core`, recognised with `isInstance` across package copies. */
interface ErrorClass {
  readonly name: string
  isInstance(value: unknown): boolean
}

/** Expects `promise` to reject with an `expected`, and returns the error. */
async function expectRefused(
  promise: Promise<unknown>,
  expected: ErrorClass,
  what: string,
): Promise<unknown> {
  const error = await rejectionOf(promise, what)
  expect(expected.isInstance(error), `${what} must fail with ${expected.name}; ${errorText(error)}`).toBe(
    true,
  )
  return error
}

/** Expects an `InvalidOptionsError` with an issue on `field` (or on a field under it, like `metadata.tenant`). */
async function expectInvalidOptions(promise: Promise<unknown>, field: string): Promise<InvalidOptionsError> {
  const error = await expectRefused(promise, InvalidOptionsError, `a call with an invalid ${field}`)
  const fields = (error as InvalidOptionsError).issues.map((issue) => issue.field)
  expect(
    fields.some((name) => name === field || name.startsWith(`${field}.`)),
    `the InvalidOptionsError must have an issue on "${field}"; its issues are on ${JSON.stringify(fields)}`,
  ).toBe(true)
  return error as InvalidOptionsError
}

function errorText(error: unknown): string {
  return error instanceof Error ? `got ${error.name}: ${error.message}` : `got ${preview(error)}`
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 300 ? `${text.slice(0, 300)}...` : text
}
