import { describe, expect, it } from 'vitest'
import type { ActivityStatus, ActivitySummary } from '../activity/types.js'
import { SqliteActivityStore } from './index.js'
import { type EntryV2, writeActivityV2 } from './test-helpers/schema-v2.js'
import { createSchemaV3 } from './test-helpers/schema-v3.js'
import { useTempDatabases } from './test-helpers/temp-database.js'

const { tempDatabase, open, raw } = useTempDatabases()

const queued = (at: string): EntryV2 => ({
  status: 'queued',
  message: 'Waiting to start',
  percentage: 0,
  at,
  kind: 'lifecycle',
})
const running = (at: string): EntryV2 => ({ status: 'running', message: 'Started', percentage: null, at })
const complete = (at: string): EntryV2 => ({ status: 'complete', message: 'Done', percentage: 100, at })

/** Every page of a list, followed through its cursors. */
async function everyPage(
  store: SqliteActivityStore,
  options: Parameters<SqliteActivityStore['list']>[0],
): Promise<{ items: ActivitySummary[]; totals: number[] }> {
  const items: ActivitySummary[] = []
  const totals: number[] = []
  let cursor: string | undefined
  do {
    const page = await store.list({ ...options, ...(cursor === undefined ? {} : { cursor }) })
    items.push(...page.items)
    totals.push(page.total)
    cursor = page.nextCursor
  } while (cursor !== undefined)
  return { items, totals }
}

describe('SqliteActivityStore metadata index', () => {
  describe('upgrading a version-3 database (written before the metadata index)', () => {
    function versionThreeFile(): string {
      const file = tempDatabase()
      const db = raw(file)
      try {
        createSchemaV3(db)
        db.exec('BEGIN IMMEDIATE')
        const activities: Array<[string, Record<string, unknown>, EntryV2[]]> = [
          [
            'acme-done',
            { tenant: 'acme', tier: 1 },
            [queued('2025-07-01T10:00:00.000Z'), complete('2025-07-01T10:00:02.000Z')],
          ],
          [
            'acme-running',
            { tenant: 'acme', tier: '1', vip: true },
            [queued('2025-07-01T10:01:00.000Z'), running('2025-07-01T10:01:01.000Z')],
          ],
          ['globex-queued', { tenant: 'globex', region: null }, [queued('2025-07-01T10:02:00.000Z')]],
          ['nested', { tenant: { id: 'acme' }, tags: ['a'] }, [queued('2025-07-01T10:03:00.000Z')]],
          ['acme-queued', { tenant: 'acme', tier: 1.5, vip: false }, [queued('2025-07-01T10:04:00.000Z')]],
        ]
        for (const [agentId, metadata, log] of activities) {
          writeActivityV2(db, { agentId, agentType: 'research', metadata, log })
        }
        db.exec('COMMIT')
      } finally {
        db.close()
      }
      return file
    }

    it('indexes the metadata of every existing activity, and filters as before', async () => {
      const store = open(versionThreeFile())
      const ids = async (options: Parameters<SqliteActivityStore['list']>[0]) =>
        (await everyPage(store, { ...options, limit: 2 })).items.map((item) => item.agentId)
      expect(await ids({ metadata: { tenant: 'acme' } })).toEqual([
        'acme-queued',
        'acme-running',
        'acme-done',
      ])
      expect(await ids({ metadata: { tenant: 'acme' }, status: ['queued', 'complete'] })).toEqual([
        'acme-queued',
        'acme-done',
      ])
      expect(await ids({ metadata: { tier: 1 } })).toEqual(['acme-done'])
      expect(await ids({ metadata: { tier: '1' } })).toEqual(['acme-running'])
      expect(await ids({ metadata: { tier: 1.5 } })).toEqual(['acme-queued'])
      expect(await ids({ metadata: { vip: true } })).toEqual(['acme-running'])
      expect(await ids({ metadata: { vip: false, tenant: 'acme' } })).toEqual(['acme-queued'])
      expect(await ids({ metadata: { region: null } })).toEqual(['globex-queued'])
      expect(await ids({ metadata: { tenant: 'globex', region: null } })).toEqual(['globex-queued'])
      expect(await store.countActive({ metadata: { tenant: 'acme' } })).toBe(2)
      expect(await store.countActive()).toBe(4)
      expect((await store.list({ status: ['queued', 'complete'] })).total).toBe(4)
      expect((await store.list()).total).toBe(5)
      expect((await store.list({ metadata: { tenant: 'acme' }, limit: 1 })).total).toBe(3)
    })

    it('records the current version, and ends with the same schema as a new file', async () => {
      const file = versionThreeFile()
      await open(file).close()
      const db = raw(file)
      expect(db.prepare('PRAGMA user_version').get()).toEqual({
        user_version: SqliteActivityStore.schemaVersion,
      })
      expect(db.prepare('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }])
      expect(db.prepare('SELECT count(*) AS rows FROM activity_metadata').get()).toEqual({ rows: 10 })
      db.close()
      const brandNew = tempDatabase()
      await open(brandNew).close()
      expect(schemaOf(file)).toEqual(schemaOf(brandNew))
    })
  })

  it('pages through every status and metadata filter in list order, each activity once, with the right total', async () => {
    const store = open(tempDatabase())
    const statuses: ActivityStatus[] = ['queued', 'running', 'waiting', 'complete', 'error', 'canceled']
    // A fixed pseudo-random mix: 120 activities over 3 tenants and 2 tiers, in every status.
    let seed = 7
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed
    }
    await Promise.all(
      Array.from({ length: 120 }, async (_, index) => {
        const agentId = `a${index}`
        await store.create({
          agentId,
          agentType: 'test',
          message: 'Waiting',
          metadata: { tenant: `t${next() % 3}`, tier: next() % 2, note: { deep: true } },
        })
        const target = statuses[next() % statuses.length]!
        if (target === 'queued') return
        if (target === 'canceled' || target === 'error') {
          if (next() % 2 === 0) {
            await store.append(agentId, { status: target, message: 'Stopped' })
            return
          }
        }
        await store.append(agentId, { status: 'running', message: 'Started' })
        if (target === 'running') return
        if (target === 'waiting') {
          await store.append(agentId, {
            status: 'waiting',
            message: 'Needs approval',
            pending: [{ id: 'r1', kind: 'approval', toolName: 'send', input: {} }],
          })
          return
        }
        await store.append(agentId, { status: target, message: 'Finished' })
      }),
    )
    const all = (await everyPage(store, { limit: 1000 })).items
    expect(all).toHaveLength(120)
    const filters: Array<Parameters<SqliteActivityStore['list']>[0]> = [
      { status: 'running' },
      { status: ['queued', 'waiting', 'error'] },
      { metadata: { tenant: 't1' } },
      { metadata: { tenant: 't2', tier: 1 } },
      { metadata: { tier: 0 }, status: ['complete', 'running', 'canceled'] },
      { metadata: { tenant: 't0' }, status: ['queued', 'queued'] },
      { metadata: { tenant: 'none' } },
      { metadata: { note: { deep: true } as never } },
    ]
    for (const filter of filters.slice(0, -1)) {
      const wanted = new Set([filter!.status ?? statuses].flat())
      const expected = all.filter(
        (item) =>
          wanted.has(item.status) &&
          Object.entries(filter!.metadata ?? {}).every(([key, value]) => item.metadata[key] === value),
      )
      for (const limit of [1, 7, 50]) {
        const { items, totals } = await everyPage(store, { ...filter, limit })
        expect(items, `${JSON.stringify(filter)} by pages of ${limit}`).toEqual(expected)
        expect(new Set(totals), `the total of ${JSON.stringify(filter)}`).toEqual(new Set([expected.length]))
      }
      if (filter!.status === undefined) {
        expect(await store.countActive({ metadata: filter!.metadata! })).toBe(
          expected.filter((item) => ['queued', 'running', 'waiting'].includes(item.status)).length,
        )
      }
    }
  })

  it('reads a filtered page from index ranges, without sorting the matches', async () => {
    const file = tempDatabase()
    open(file)
    const db = raw(file)
    const plan = (sql: string) =>
      db
        .prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .all()
        .map((row) => row.detail)
        .join(' | ')
    const page = plan(
      `SELECT m.seq FROM activity_metadata m WHERE m.key = 'tenant' AND m.type = 'text' AND m.value = 't1'
       AND m.status = 'running' AND m.seq < 10 ORDER BY m.seq DESC LIMIT 51`,
    )
    expect(page).toMatch(/SEARCH m USING PRIMARY KEY/)
    expect(page, 'no sort of every match').not.toMatch(/TEMP B-TREE/)
    expect(plan("SELECT seq FROM activities WHERE status = 'error' ORDER BY seq DESC LIMIT 51")).toMatch(
      /USING COVERING INDEX activities_status_seq/,
    )
  })

  it('keeps the index in step with changes made to the table outside the store', async () => {
    const file = tempDatabase()
    const store = open(file)
    await store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting', metadata: { tenant: 't1' } })
    await store.create({ agentId: 'a2', agentType: 'test', message: 'Waiting', metadata: { tenant: 't1' } })
    const db = raw(file)
    db.exec("UPDATE activities SET status = 'canceled' WHERE agent_id = 'a1'")
    db.exec(`UPDATE activities SET metadata = '{"tenant":"t2"}' WHERE agent_id = 'a2'`)
    const ids = async (options: Parameters<SqliteActivityStore['list']>[0]) =>
      (await store.list(options)).items.map((item) => item.agentId)
    expect(await ids({ metadata: { tenant: 't1' }, status: 'canceled' })).toEqual(['a1'])
    expect(await ids({ metadata: { tenant: 't1' }, status: 'queued' })).toEqual([])
    expect(await ids({ metadata: { tenant: 't2' } })).toEqual(['a2'])
    const totals = async () => ({
      all: (await store.list()).total,
      canceled: (await store.list({ status: 'canceled' })).total,
      t1: (await store.list({ metadata: { tenant: 't1' } })).total,
      t2: (await store.list({ metadata: { tenant: 't2' } })).total,
      active: await store.countActive(),
      activeT2: await store.countActive({ metadata: { tenant: 't2' } }),
    })
    expect(await totals()).toEqual({ all: 2, canceled: 1, t1: 1, t2: 1, active: 1, activeT2: 1 })
    db.exec("DELETE FROM activities WHERE agent_id = 'a2'")
    expect(await ids({ metadata: { tenant: 't2' } })).toEqual([])
    expect(await totals()).toEqual({ all: 1, canceled: 1, t1: 1, t2: 0, active: 0, activeT2: 0 })
    expect(db.prepare('SELECT count(*) AS rows FROM activity_metadata').get()).toEqual({ rows: 1 })
  })
})

function schemaOf(file: string): Array<Record<string, unknown>> {
  const db = raw(file)
  try {
    return db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name').all()
  } finally {
    db.close()
  }
}
