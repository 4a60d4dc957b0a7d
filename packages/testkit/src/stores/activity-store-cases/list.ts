import type { ActivityStatus, ActivityStore, ActivitySummary } from '@runner/core'
import { describe, expect, it } from 'vitest'
import type { StoreSuite } from './context.js'
import { expectInvalidOptions } from './expectations.js'

/** `list`: order, summaries, status filters, and cursor pagination. */
export function listCases(suite: StoreSuite): void {
  describe('list', () => {
    it('returns an empty page for an empty store', async () => {
      expect(await suite.store.list(), 'an empty store lists no items, a total of 0 and no cursor').toEqual({
        items: [],
        total: 0,
      })
    })

    it('orders active activities first, then the rest, each newest first', async () => {
      for (const agentId of ['a1', 'a2', 'a3', 'a4', 'a5', 'a6']) await suite.create(agentId)
      await suite.store.append('a2', { status: 'running', message: 'Started' })
      await suite.store.append('a2', { status: 'complete', message: 'Complete' })
      await suite.store.append('a4', { status: 'canceled', message: 'Canceled' })
      await suite.store.append('a3', { status: 'running', message: 'Started' })
      await suite.store.append('a1', { status: 'running', message: 'Started' })
      expect(
        await suite.listIds(),
        'list order: active (queued, running) first, then final ones, each newest created first',
      ).toEqual(['a6', 'a5', 'a3', 'a1', 'a4', 'a2'])

      await suite.store.append('a5', { status: 'error', message: 'Failed' })
      expect(
        await suite.listIds(),
        'an update does not make an activity newer; reaching a final status moves it to the second group',
      ).toEqual(['a6', 'a3', 'a1', 'a5', 'a4', 'a2'])
    })

    it('lists waiting activities with the active ones, and moves them on when they end', async () => {
      await suite.createIn('old-waiting', 'waiting')
      await suite.createIn('done', 'complete')
      await suite.createIn('queued', 'queued')
      await suite.createIn('new-waiting', 'waiting')
      await suite.createIn('failed', 'error')
      expect(
        await suite.listIds(),
        'list order: waiting counts as active (listed with queued and running), each group newest first',
      ).toEqual(['new-waiting', 'queued', 'old-waiting', 'failed', 'done'])
      await suite.store.append('old-waiting', { status: 'running', message: 'Resumed' })
      await suite.store.append('new-waiting', { status: 'canceled', message: 'Canceled' })
      expect(
        await suite.listIds(),
        'a resumed run stays active; a canceled wait moves to the final group',
      ).toEqual(['queued', 'old-waiting', 'failed', 'new-waiting', 'done'])
      const page = await suite.store.list({ limit: 1 })
      const next = await suite.store.list({ limit: 4, cursor: page.nextCursor! })
      expect(
        [...page.items, ...next.items].map((item) => item.agentId),
        'cursors follow the same order across the active and final groups',
      ).toEqual(['queued', 'old-waiting', 'failed', 'new-waiting', 'done'])
    })

    it('returns summaries: the current state without the log', async () => {
      await suite.createIn('a1', 'complete', { metadata: { tenant: 't1' } })
      await suite.createIn('a2', 'running')
      const { items } = await suite.store.list()
      expect(items, 'list returns every activity').toHaveLength(2)
      for (const item of items) {
        expect('log' in item, 'list returns summaries, without the log').toBe(false)
        const { log: _log, ...summary } = (await suite.store.get(item.agentId))!
        expect(item, 'a listed summary equals the activity get returns, without its log').toEqual(summary)
      }
    })

    it('filters by one status or several, with a matching total', async () => {
      await suite.createIn('q1', 'queued')
      await suite.createIn('r1', 'running')
      await suite.createIn('r2', 'running')
      await suite.createIn('c1', 'complete')
      await suite.createIn('e1', 'error')
      await suite.createIn('x1', 'canceled')
      await suite.createIn('w1', 'waiting')
      expect(
        await suite.listIds({ status: 'waiting' }),
        'a status filter on waiting lists waiting only',
      ).toEqual(['w1'])
      expect(
        await suite.listIds({ status: ['waiting', 'queued', 'complete'] }),
        'a list of statuses with waiting keeps the list order: active (queued, waiting) first',
      ).toEqual(['w1', 'q1', 'c1'])
      expect(await suite.listIds({ status: 'running' }), 'a status filter lists that status only').toEqual([
        'r2',
        'r1',
      ])
      expect(
        (await suite.store.list({ status: 'running' })).total,
        'the total counts the filtered status',
      ).toBe(2)
      expect(
        await suite.listIds({ status: ['complete', 'canceled'] }),
        'a list of statuses matches any of them, in list order',
      ).toEqual(['x1', 'c1'])
      expect(
        await suite.listIds({ status: ['queued', 'error'] }),
        'a list of statuses keeps the list order: active first',
      ).toEqual(['q1', 'e1'])
      expect(
        (
          await suite.store.list({
            status: ['queued', 'running', 'waiting', 'complete', 'error', 'canceled'],
          })
        ).total,
        'every status together matches every activity',
      ).toBe(7)
      expect(
        await suite.store.list({ status: 'running', metadata: { nobody: 1 } }),
        'status and metadata filters are ANDed',
      ).toEqual({ items: [], total: 0 })
    })

    it('refuses an unknown status, naming status', async () => {
      await expectInvalidOptions(
        suite.store.list({ status: 'done' as ActivityStatus }),
        'status',
        'list with an unknown status',
      )
      await expectInvalidOptions(
        suite.store.list({ status: ['running', 'done'] as ActivityStatus[] }),
        'status',
        'list with an unknown status in a list',
      )
    })

    describe('pagination', () => {
      /** Follows nextCursor until the end, checking each page. */
      const allPages = async (options: Parameters<ActivityStore['list']>[0]) => {
        const pages: ActivitySummary[][] = []
        let cursor: string | undefined
        const totals = new Set<number>()
        do {
          const page = await suite.store.list({ ...options, ...(cursor === undefined ? {} : { cursor }) })
          pages.push(page.items)
          totals.add(page.total)
          cursor = page.nextCursor
          if (cursor !== undefined) {
            expect(page.items, 'a page with a nextCursor is full (limit items)').toHaveLength(
              options?.limit ?? 50,
            )
          }
          expect(pages.length, 'following nextCursor ends (no cursor loops)').toBeLessThan(100)
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
          await suite.createIn(`p${index}`, status, { metadata: { even: index % 2 === 0 } })
        }
        return suite.listIds()
      }

      it.each([1, 2, 3, 7, 10])(
        'visits every activity exactly once, in order, with limit %i',
        async (limit) => {
          const expected = await seed()
          expect(expected, 'list order: active first, then final ones, each newest first').toEqual([
            'p6',
            'p4',
            'p2',
            'p0',
            'p5',
            'p3',
            'p1',
          ])
          const { pages, totals } = await allPages({ limit })
          expect(
            pages.flat().map((item) => item.agentId),
            `pages of ${limit} visit every activity once, in list order`,
          ).toEqual(expected)
          expect(pages, `${expected.length} activities make ceil(n / ${limit}) pages`).toHaveLength(
            Math.ceil(expected.length / limit),
          )
          expect(totals, 'every page carries the same total: all matches over all pages').toEqual([
            expected.length,
          ])
        },
      )

      it('paginates a filtered list, with the filter total on every page', async () => {
        await seed()
        const byStatus = await allPages({ status: ['queued', 'complete', 'error'], limit: 2 })
        expect(
          byStatus.pages.flat().map((item) => item.agentId),
          'cursors keep the status filter across pages',
        ).toEqual(['p4', 'p0', 'p5', 'p1'])
        expect(byStatus.totals, 'every page carries the filtered total').toEqual([4])
        const byMetadata = await allPages({ metadata: { even: true }, limit: 3 })
        expect(
          byMetadata.pages.flat().map((item) => item.agentId),
          'cursors keep the metadata filter across pages',
        ).toEqual(['p6', 'p4', 'p2', 'p0'])
        expect(byMetadata.totals, 'every page carries the filtered total').toEqual([4])
      })

      it('gives no nextCursor when the last page is exactly full', async () => {
        for (let index = 0; index < 4; index++) await suite.create(`a${index}`)
        const first = await suite.store.list({ limit: 2 })
        expect(first.nextCursor, 'a page followed by more items has a nextCursor').toEqual(expect.any(String))
        const second = await suite.store.list({ limit: 2, cursor: first.nextCursor! })
        expect(
          second.items.map((item) => item.agentId),
          'the next page starts right after the cursor',
        ).toEqual(['a1', 'a0'])
        expect(second.nextCursor, 'the last page has no nextCursor, even when full').toBeUndefined()
        expect(
          (await suite.store.list({ limit: 4 })).nextCursor,
          'a single full page has no nextCursor',
        ).toBeUndefined()
      })

      it('does not repeat or skip activities created while paging', async () => {
        for (let index = 0; index < 5; index++) await suite.create(`old${index}`)
        const first = await suite.store.list({ limit: 2 })
        await suite.create('new0')
        const rest = await allPages({ limit: 2, cursor: first.nextCursor! })
        const seen = [...first.items, ...rest.pages.flat()].map((item) => item.agentId)
        expect(
          seen,
          'a cursor continues after its item: an activity created meanwhile (newer) is not mixed in',
        ).toEqual(['old4', 'old3', 'old2', 'old1', 'old0'])
      })

      it('uses a default page size of 50', async () => {
        for (let index = 0; index < 51; index++) await suite.create(`a${String(index).padStart(2, '0')}`)
        const first = await suite.store.list()
        expect(first.items, 'the default limit is 50').toHaveLength(50)
        expect(first.total, 'the total counts every match, beyond the page').toBe(51)
        const second = await suite.store.list({ cursor: first.nextCursor! })
        expect(
          second.items.map((item) => item.agentId),
          'the second page holds the rest',
        ).toEqual(['a00'])
        expect(second.nextCursor, 'the last page has no nextCursor').toBeUndefined()
      })

      it.each([
        'not-a-cursor',
        '',
        Buffer.from('[2,5]').toString('base64url'),
        Buffer.from('[1,1.5]').toString('base64url'),
        Buffer.from('{"active":1,"seq":3}').toString('base64url'),
      ])('refuses the cursor %j, naming cursor', async (cursor) => {
        await suite.create('a1')
        await expectInvalidOptions(
          suite.store.list({ cursor }),
          'cursor',
          `list with the cursor ${JSON.stringify(cursor)}, which list never returned`,
        )
      })

      it.each([0, -1, 1001, 2.5])('refuses limit %s, naming limit', async (limit) => {
        await expectInvalidOptions(suite.store.list({ limit }), 'limit', `list with limit ${limit} (1..1000)`)
      })

      it('accepts limits 1 and 1000', async () => {
        await suite.create('a1')
        await suite.create('a2')
        expect(
          (await suite.store.list({ limit: 1 })).items.map((item) => item.agentId),
          'limit 1 returns the first item',
        ).toEqual(['a2'])
        expect((await suite.store.list({ limit: 1000 })).items, 'limit 1000 is accepted').toHaveLength(2)
      })
    })
  })
}
