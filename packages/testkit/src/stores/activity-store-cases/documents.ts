import { InvalidOptionsError } from '@runner/core'
import type { DocumentTable, JsonValue, StoredDocument } from '@runner/core/store'
import { describe, expect, it, type TestContext } from 'vitest'
import type { StoreSuite } from './context.js'
import { expectInvalidOptions, expectRefused } from './expectations.js'

/**
 * Keys in binary order: by Unicode code point, the byte order of their UTF-8. `'ｚ'` (U+FF5A)
 * comes before `'😀'` (U+1F600) there, while JavaScript's `<` (UTF-16 code units) puts it after.
 */
const KEYS_IN_ORDER = ['B', 'Z', 'a', 'a/1', 'a/10', 'a/2', 'a_b', 'b', '~', 'é', 'ｚ', '😀']

/**
 * The document table (`store.documents`, on every store of this project; skipped when a store has
 * none): JSON values by namespace and key, listed in binary key order with prefix, before,
 * reverse and limit; deletePrefix; namespaces kept apart; bad keys and oversized values refused.
 */
export function documentCases(suite: StoreSuite): void {
  describe('documents', () => {
    /** The store's document table, or skips the test for a store without one. */
    const tableOf = (context: TestContext): DocumentTable => {
      const table = suite.store.documents
      if (!table) context.skip('this store has no documents table')
      return table as DocumentTable
    }
    const keys = (documents: StoredDocument[]) => documents.map((document) => document.key)
    const seed = async (table: DocumentTable, namespace = 'ns') => {
      // Written out of order, so that the order read back is the store's.
      const shuffled = [...KEYS_IN_ORDER].reverse().sort((a, b) => (a.length % 2) - (b.length % 2))
      await table.putMany(
        namespace,
        shuffled.map((key) => ({ key, value: { key } })),
      )
    }

    it('puts, gets and replaces JSON values', async (context) => {
      const table = tableOf(context)
      const values: JsonValue[] = [
        { nested: { list: [1, 2.5, null, true] }, text: 'héllo "quoted" 🚀' },
        'plain',
        42,
        false,
        null,
        [],
      ]
      for (const [index, value] of values.entries()) await table.put('ns', `k${index}`, value)
      for (const [index, value] of values.entries()) {
        expect(
          await table.get('ns', `k${index}`),
          `get returns the value put (${JSON.stringify(value)})`,
        ).toEqual(value)
      }
      expect(await table.get('ns', 'missing'), 'get of a missing key is undefined').toBeUndefined()
      await table.put('ns', 'k0', { replaced: true })
      expect(await table.get('ns', 'k0'), 'put replaces the value of an existing key').toEqual({
        replaced: true,
      })
      const value = { list: [1] }
      await table.put('ns', 'copy', value)
      value.list.push(2)
      const read = (await table.get('ns', 'copy')) as { list: number[] }
      read.list.push(3)
      expect(await table.get('ns', 'copy'), 'the value is copied when put and when read').toEqual({
        list: [1],
      })
    })

    it('lists in binary key order (by code point), ascending or reversed', async (context) => {
      const table = tableOf(context)
      await seed(table)
      const listed = await table.list('ns')
      expect(keys(listed), 'list returns every key in binary order (UTF-8 bytes, i.e. code points)').toEqual(
        KEYS_IN_ORDER,
      )
      expect(listed[0], 'list returns each key with its value').toEqual({ key: 'B', value: { key: 'B' } })
      expect(
        keys(await table.list('ns', { reverse: true })),
        'reverse lists in descending key order',
      ).toEqual([...KEYS_IN_ORDER].reverse())
    })

    it('lists by prefix, before a key, and up to a limit, together', async (context) => {
      const table = tableOf(context)
      await seed(table)
      expect(
        keys(await table.list('ns', { prefix: 'a/' })),
        'prefix keeps the keys that start with it',
      ).toEqual(['a/1', 'a/10', 'a/2'])
      expect(
        keys(await table.list('ns', { prefix: 'a' })),
        'a key equal to the prefix starts with it',
      ).toEqual(['a', 'a/1', 'a/10', 'a/2', 'a_b'])
      expect(
        keys(await table.list('ns', { prefix: 'a%' })),
        'a % in a prefix is a character, not a wildcard',
      ).toEqual([])
      expect(
        keys(await table.list('ns', { prefix: 'a_' })),
        'an _ in a prefix is a character, not a wildcard',
      ).toEqual(['a_b'])
      expect(
        keys(await table.list('ns', { prefix: 'zz' })),
        'a prefix nothing starts with lists nothing',
      ).toEqual([])
      expect(
        keys(await table.list('ns', { before: 'a/10' })),
        'before keeps the keys below it, not itself',
      ).toEqual(['B', 'Z', 'a', 'a/1'])
      expect(keys(await table.list('ns', { limit: 3 })), 'limit returns the first keys in order').toEqual([
        'B',
        'Z',
        'a',
      ])
      expect(
        keys(await table.list('ns', { prefix: 'a/', before: 'a/2', reverse: true, limit: 1 })),
        'prefix, before, reverse and limit combine: the newest key below before, within the prefix',
      ).toEqual(['a/10'])
      expect(
        keys(await table.list('ns', { reverse: true, limit: 2 })),
        'reverse with limit returns the last keys, highest first',
      ).toEqual(['😀', 'ｚ'])
    })

    it('deletes by prefix, resolving with how many, and the whole namespace for the empty prefix', async (context) => {
      const table = tableOf(context)
      await seed(table)
      await seed(table, 'other')
      expect(await table.deletePrefix('ns', 'a/'), 'deletePrefix resolves with the number deleted').toBe(3)
      expect(
        keys(await table.list('ns', { prefix: 'a' })),
        'the keys with the prefix are gone, the rest stay',
      ).toEqual(['a', 'a_b'])
      expect(await table.deletePrefix('ns', 'nothing'), 'deleting a prefix nothing has resolves 0').toBe(0)
      expect(await table.deletePrefix('ns', ''), 'the empty prefix deletes the rest of the namespace').toBe(
        KEYS_IN_ORDER.length - 3,
      )
      expect(await table.list('ns'), 'the namespace is empty').toEqual([])
      expect(keys(await table.list('other')), 'another namespace is untouched').toEqual(KEYS_IN_ORDER)
    })

    it('keeps namespaces apart, even when one name starts with another', async (context) => {
      const table = tableOf(context)
      await table.put('ns', 'k', 'in ns')
      await table.put('ns2', 'k', 'in ns2')
      await table.put('n', 'sk', 'in n')
      expect(await table.get('ns', 'k'), 'the same key in two namespaces holds two values').toBe('in ns')
      expect(await table.get('ns2', 'k'), 'the same key in two namespaces holds two values').toBe('in ns2')
      expect(await table.list('ns'), 'list reads its own namespace only').toEqual([
        { key: 'k', value: 'in ns' },
      ])
      expect(await table.deletePrefix('ns', ''), 'deletePrefix deletes in its own namespace only').toBe(1)
      expect(await table.get('ns2', 'k'), 'the other namespace keeps its value').toBe('in ns2')
      expect(await table.get('n', 'sk'), 'a namespace and key never run together').toBe('in n')
      expect(await table.list('never-written'), 'an unknown namespace lists nothing').toEqual([])
    })

    it('writes putMany whole, and writes none of it when one document is refused', async (context) => {
      const table = tableOf(context)
      await table.putMany('ns', [
        { key: 'k1', value: 1 },
        { key: 'k2', value: 2 },
      ])
      expect(keys(await table.list('ns')), 'putMany writes every document').toEqual(['k1', 'k2'])
      await expectInvalidOptions(
        table.putMany('ns', [
          { key: 'k1', value: 'changed' },
          { key: 'k3', value: 3 },
          { key: '', value: 'bad key' },
        ]),
        'documents.2.key',
        'putMany with an empty key among good ones',
      )
      expect(await table.list('ns'), 'a refused putMany writes none of its documents').toEqual([
        { key: 'k1', value: 1 },
        { key: 'k2', value: 2 },
      ])
    })

    it('refuses bad namespaces and keys with InvalidOptionsError', async (context) => {
      const table = tableOf(context)
      for (const [what, call] of [
        ['an empty namespace', () => table.put('', 'k', 1)],
        ['an empty key', () => table.put('ns', '', 1)],
        ['a key over 1000 characters', () => table.put('ns', 'k'.repeat(1001), 1)],
        ['a key that is not a string', () => table.put('ns', 42 as unknown as string, 1)],
        ['a namespace over 1000 characters', () => table.putMany('n'.repeat(1001), [{ key: 'k', value: 1 }])],
      ] as const) {
        await expectRefused(call(), InvalidOptionsError, `put with ${what}`)
      }
      await table.put('ns', 'k'.repeat(1000), 'longest')
      expect(await table.get('ns', 'k'.repeat(1000)), 'a key of 1000 characters is accepted').toBe('longest')
      expect(await table.list('ns'), 'refused puts write nothing').toEqual([
        { key: 'k'.repeat(1000), value: 'longest' },
      ])
    })

    it('refuses a value over the store’s maxRecordBytes, writing nothing', async (context) => {
      const table = tableOf(context)
      await table.put('ns', 'k1', 'small')
      await expectInvalidOptions(
        table.putMany('ns', [
          { key: 'k2', value: 'fits' },
          { key: 'k3', value: 'x'.repeat(suite.maxRecordBytes) },
        ]),
        'documents.1.value',
        'putMany with a value over maxRecordBytes',
      )
      expect(keys(await table.list('ns')), 'a refused oversized value writes nothing').toEqual(['k1'])
    })
  })
}
