import { InvalidOptionsError } from '@runner/core'
import { describe, expect, it } from 'vitest'
import { adminPool, databaseUrl } from './test-helpers/database.js'
import { rejectionOf, useStores } from './test-helpers/stores.js'

// The document table of PostgresActivityStore (`store.documents`).

const { open } = useStores('docs')

const keysOf = (documents: { key: string }[]) => documents.map((document) => document.key)

describe.skipIf(!databaseUrl)('PostgresActivityStore documents (DATABASE_URL)', { timeout: 60_000 }, () => {
  it('puts, replaces and gets JSON documents by namespace and key, shared by every store on the schema', async () => {
    const store = open()
    const other = open({ schema: store.schema })
    const value = { zeta: 1, alpha: ['x', null, { text: 'nul \u0000 ok' }] }
    const kept = { zeta: 1, alpha: ['x', null, { text: 'nul \uFFFD ok' }] }
    await store.documents.put('threads', 't1', value)
    await store.documents.put('other', 't1', 'another namespace')
    expect(
      await other.documents.get('threads', 't1'),
      'a NUL is kept as U+FFFD, as every store does',
    ).toEqual(kept)
    expect(
      JSON.stringify(await other.documents.get('threads', 't1')),
      'kept as written, key order included',
    ).toBe(JSON.stringify(kept))
    await other.documents.put('threads', 't1', null)
    expect(await store.documents.get('threads', 't1'), 'replaced; a null value is a value').toBeNull()
    expect(await store.documents.get('threads', 'missing')).toBeUndefined()
    expect(await store.documents.get('other', 't1')).toBe('another namespace')
  })

  it('lists in binary key order whatever the database collation, with prefix, before, reverse and limit', async () => {
    const store = open()
    const { documents } = store
    const keys = ['b', 'B', 'a', 'a/2', 'a/10', 'é', 'Z', '10', '9', 'a/1']
    for (const key of keys) await documents.put('ns', key, { key })
    const binary = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    expect(binary).toEqual(['10', '9', 'B', 'Z', 'a', 'a/1', 'a/10', 'a/2', 'b', 'é'])
    expect(keysOf(await documents.list('ns'))).toEqual(binary)
    expect((await documents.list('ns'))[0]).toEqual({ key: '10', value: { key: '10' } })
    expect(keysOf(await documents.list('ns', { prefix: 'a/' }))).toEqual(['a/1', 'a/10', 'a/2'])
    expect(keysOf(await documents.list('ns', { prefix: 'a/', reverse: true, limit: 2 }))).toEqual([
      'a/2',
      'a/10',
    ])
    expect(keysOf(await documents.list('ns', { prefix: 'a/', before: 'a/2', reverse: true }))).toEqual([
      'a/10',
      'a/1',
    ])
    expect(keysOf(await documents.list('ns', { before: 'B' }))).toEqual(['10', '9'])
    expect(keysOf(await documents.list('ns', { limit: 3 }))).toEqual(['10', '9', 'B'])
    expect(await documents.list('ns', { limit: 0 })).toEqual([])
    expect(await documents.list('ns', { prefix: '%' }), 'prefixes are text, not LIKE patterns').toEqual([])
    expect(await documents.list('empty')).toEqual([])
    const { rows } = await adminPool().query(
      `SELECT collation_name FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = 'documents' AND column_name = 'key'`,
      [store.schema],
    )
    expect(rows, 'the key column orders bytes, not by the database locale').toEqual([{ collation_name: 'C' }])
  })

  it('putMany writes every document in one statement: all or none', async () => {
    const store = open()
    const { documents } = store
    await documents.putMany('ns', [
      { key: 'k1', value: 1 },
      { key: 'k2', value: 2 },
      { key: 'k1', value: 'last wins' },
    ])
    expect(await documents.list('ns')).toEqual([
      { key: 'k1', value: 'last wins' },
      { key: 'k2', value: 2 },
    ])
    // The database refuses the third document: the first two must not be written either.
    await adminPool().query(`
      CREATE FUNCTION "${store.schema}".refuse_bad() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.key = 'bad' THEN RAISE EXCEPTION 'refused by the test'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER refuse_bad BEFORE INSERT ON "${store.schema}".documents
        FOR EACH ROW EXECUTE FUNCTION "${store.schema}".refuse_bad();`)
    const error = await rejectionOf(
      documents.putMany('ns', [
        { key: 'k1', value: 'changed' },
        { key: 'k3', value: 3 },
        { key: 'bad', value: 0 },
      ]),
    )
    expect(String(error)).toMatch(/refused by the test/)
    expect(await documents.list('ns')).toEqual([
      { key: 'k1', value: 'last wins' },
      { key: 'k2', value: 2 },
    ])
  })

  it('deletes by prefix within one namespace, counting what it deleted', async () => {
    const { documents } = open()
    await documents.putMany(
      'ns',
      ['t1/a', 't1/b', 't10/a', 't2/a'].map((key) => ({ key, value: key })),
    )
    await documents.put('kept', 't1/a', 'x')
    expect(await documents.deletePrefix('ns', 't1/')).toBe(2)
    expect(keysOf(await documents.list('ns'))).toEqual(['t10/a', 't2/a'])
    expect(await documents.deletePrefix('ns', '')).toBe(2)
    expect(await documents.list('ns')).toEqual([])
    expect(await documents.get('kept', 't1/a')).toBe('x')
  })

  it('refuses bad keys, values that are not JSON and values over maxRecordBytes, naming the field and writing nothing', async () => {
    const { documents } = open({ maxRecordBytes: 100 })
    const fieldOf = async (promise: Promise<unknown>) => {
      const error = await rejectionOf(promise)
      expect(InvalidOptionsError.isInstance(error)).toBe(true)
      return (error as InvalidOptionsError).field
    }
    expect(await fieldOf(documents.put('', 'k', 1))).toBe('namespace')
    expect(await fieldOf(documents.put('ns', 'k'.repeat(1001), 1))).toBe('key')
    expect(await fieldOf(documents.put('ns', 'a\u0000b', 1))).toBe('key')
    expect(await fieldOf(documents.put('ns', 'k', 'x'.repeat(200)))).toBe('value')
    expect(
      await fieldOf(
        documents.putMany('ns', [
          { key: 'ok', value: 1 },
          { key: 'big', value: 'é'.repeat(60) },
        ]),
      ),
    ).toBe('documents.1.value')
    expect(await fieldOf(documents.putMany('ns', [{ key: 'k', value: { n: 1n } as never }]))).toBe(
      'documents.0.value',
    )
    expect(await documents.list('ns')).toEqual([])
    expect(await fieldOf(documents.get('ns', 'a\u0000b')), 'a key no store can hold is refused').toBe('key')
  })
})
