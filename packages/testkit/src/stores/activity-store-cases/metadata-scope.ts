import type { MetadataFilter } from '@runner/core'
import { describe, expect, it } from 'vitest'
import type { StoreSuite } from './context.js'
import { expectInvalidOptions } from './expectations.js'
import { trajectoryOf } from './fixtures.js'

/**
 * Metadata filters and scopes: type-exact key equality, ANDed, the same in `list`, its total, `get`,
 * `countActive` and `getTrajectory`; an activity that does not match is invisible (multi-tenant
 * isolation).
 */
export function metadataScopeCases(suite: StoreSuite): void {
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
      async (clause, filter, expected) => {
        for (const [agentId, metadata] of Object.entries(records)) {
          await suite.create(agentId, { metadata })
          await suite.store.saveTrajectory(agentId, trajectoryOf(agentId))
        }
        const page = await suite.store.list({ metadata: filter, limit: 1000 })
        expect(
          page.items.map((item) => item.agentId).sort(),
          `list with the metadata filter ${JSON.stringify(filter)} (${clause})`,
        ).toEqual([...expected].sort())
        expect(page.total, `list's total counts what the filter matches (${clause})`).toBe(expected.length)
        expect(
          await suite.store.countActive({ metadata: filter }),
          `countActive with the same metadata scope (${clause})`,
        ).toBe(expected.length)
        for (const agentId of Object.keys(records)) {
          const visible = expected.includes(agentId)
          const clauseOf = (operation: string) =>
            `${operation} ${visible ? 'shows' : 'hides'} "${agentId}" under the scope ${JSON.stringify(filter)} (${clause})`
          expect((await suite.store.get(agentId, { metadata: filter }))?.agentId, clauseOf('get')).toBe(
            visible ? agentId : undefined,
          )
          expect(
            (await suite.store.getTrajectory(agentId, { metadata: filter }))?.agentId,
            clauseOf('getTrajectory'),
          ).toBe(visible ? agentId : undefined)
        }
      },
    )

    it('refuses a filter value that is not a primitive, naming metadata', async () => {
      await expectInvalidOptions(
        suite.store.list({ metadata: { tenant: ['acme'] } as unknown as MetadataFilter }),
        'metadata',
        'list with an array as a filter value',
      )
      await expectInvalidOptions(
        suite.store.countActive({ metadata: { tenant: { id: 1 } } as unknown as MetadataFilter }),
        'metadata',
        'countActive with an object as a scope value',
      )
    })

    it('hides non-matching activities from get, list, countActive and getTrajectory', async () => {
      await suite.createIn('mine', 'running', { metadata: { tenant: 't1' } })
      await suite.createIn('theirs', 'running', { metadata: { tenant: 't2' } })
      await suite.createIn('theirs-done', 'complete', { metadata: { tenant: 't2' } })
      await suite.store.saveTrajectory('theirs', trajectoryOf('theirs'))
      await suite.store.saveTrajectory('mine', trajectoryOf('mine'))
      const scope = { metadata: { tenant: 't1' } }
      expect(await suite.store.get('theirs', scope), 'get hides another tenant’s activity').toBeUndefined()
      expect(
        await suite.store.getTrajectory('theirs', scope),
        'getTrajectory hides another tenant’s trajectory',
      ).toBeUndefined()
      expect(
        await suite.store.list(scope),
        'list shows only the scope’s activities, and counts only them',
      ).toEqual({
        items: [expect.objectContaining({ agentId: 'mine' })],
        total: 1,
      })
      expect(await suite.store.countActive(scope), 'countActive counts only the scope’s activities').toBe(1)
      expect(
        (await suite.store.getTrajectory('mine', scope))?.agentId,
        'getTrajectory shows the scope’s own trajectory',
      ).toBe('mine')
      expect(
        await suite.store.countActive({ metadata: { tenant: 't2' } }),
        'countActive counts the other scope’s active activities only',
      ).toBe(1)
      expect(await suite.store.countActive(), 'countActive without a scope counts every tenant').toBe(2)
    })
  })
}
