/**
 * Case 4, activity stores: creates and appends per second, and the latency of `list`'s first page
 * once the store holds 100,000 activities, for the memory store, SQLite (`@runner/core/sqlite`,
 * a WAL file) and PostgreSQL (`@runner/postgres`, when `DATABASE_URL` is set and the package is built);
 * then, for SQLite and PostgreSQL, the first page at both ends of 1,000 to 1,000,000 activities.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { type ActivityStore, MemoryActivityStore } from '@runner/core'
import { SqliteActivityStore } from '@runner/core/sqlite'
import pg from 'pg'
import { type BenchCase, type CaseContext, size } from '../lib/case.ts'
import { loadOptional } from '../lib/optional.ts'
import { type Row, type Target, valueRow } from '../lib/results.ts'

export interface Opened {
  store: ActivityStore
  close(): Promise<void>
  note?: string
  /**
   * Adds `count` activities numbered from `from`: those whose number ends in 000 to 009 running,
   * the others complete, tenant by the last digit, with plain
   * SQL in one transaction: how the list rows reach 1,000,000 activities quickly (filling is not
   * what they measure). Absent where the store has no SQL.
   */
  bulkFill?(from: number, count: number): Promise<void>
}

/** Issue 14's targets for this case. */
const storeTargets = {
  sqliteAppends: { on: 'value', op: '>=', limit: 50_000, text: '≥ 50,000 appends/s' },
  postgresAppends: { on: 'value', op: '>=', limit: 10_000, text: '≥ 10,000 appends/s' },
  filteredPage: { on: 'value', op: '<=', limit: 10, text: '≤ 10 ms' },
} as const satisfies Record<string, Target>

interface StoreUnderTest {
  name: string
  open(): Promise<Opened | { skipped: string }>
}

interface Sizes {
  activities: number
  rounds: number
  appendsPerRound: number
  listCallsPerRound: number
  writers: number
  /** The two ends of the list rows: activities created through the store, then after the bulk fill. */
  listSmall: number
  listLarge: number
}

/** The filter of the filtered rows: active activities of one tenant in ten. */
const FILTER = { status: ['queued', 'running'], metadata: { tenant: 't3' }, limit: 50 } as const

const TENANTS = 10

/** Runs `count` operations with `writers` concurrent loops; resolves operations per second. */
async function throughput(
  count: number,
  writers: number,
  operation: (index: number) => Promise<unknown>,
): Promise<number> {
  let next = 0
  const start = performance.now()
  await Promise.all(
    Array.from({ length: Math.min(writers, count) }, async () => {
      while (next < count) await operation(next++)
    }),
  )
  return count / ((performance.now() - start) / 1000)
}

async function meanLatency(calls: number, operation: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  for (let index = 0; index < calls; index++) await operation()
  return (performance.now() - start) / calls
}

async function measureStore(
  context: CaseContext,
  name: string,
  store: ActivityStore,
  sizes: Sizes,
): Promise<Row[]> {
  const id = (index: number) => `bench-${index}`
  // Fill in `rounds` equal chunks: each chunk is one sample of creates per second.
  const creates: number[] = []
  const chunk = Math.ceil(sizes.activities / sizes.rounds)
  for (let round = 0; round < sizes.rounds; round++) {
    const first = round * chunk
    const count = Math.min(chunk, sizes.activities - first)
    creates.push(
      await throughput(count, sizes.writers, (index) =>
        store.create({
          agentId: id(first + index),
          agentType: 'bench',
          message: 'Waiting to start',
          metadata: { tenant: `t${(first + index) % TENANTS}` },
        }),
      ),
    )
  }
  context.log(`4-stores: ${name}: ${sizes.activities.toLocaleString('en-US')} activities created`)
  // Appends: running, then progress, spread over the store (1 in 10 activities ends up running).
  const appendOne = (index: number) =>
    store.append(id((index * 10) % sizes.activities), {
      status: 'running',
      message: 'Searching',
      percentage: 10,
    })
  const sequentialAppends: number[] = []
  const concurrentAppends: number[] = []
  let offset = 0
  for (let round = 0; round < sizes.rounds; round++) {
    const base = offset
    sequentialAppends.push(await throughput(sizes.appendsPerRound, 1, (index) => appendOne(base + index)))
    offset += sizes.appendsPerRound
    const second = offset
    concurrentAppends.push(
      await throughput(sizes.appendsPerRound, sizes.writers, (index) => appendOne(second + index)),
    )
    offset += sizes.appendsPerRound
  }
  const firstPage: number[] = []
  const filteredPage: number[] = []
  for (let round = 0; round < sizes.rounds; round++) {
    firstPage.push(await meanLatency(sizes.listCallsPerRound, () => store.list({ limit: 50 })))
    filteredPage.push(
      await meanLatency(sizes.listCallsPerRound, () =>
        store.list({ status: [...FILTER.status], metadata: FILTER.metadata, limit: FILTER.limit }),
      ),
    )
  }
  const total = (await store.list({ limit: 1 })).total
  if (total !== sizes.activities)
    throw new Error(`${name} lists ${total} activities, expected ${sizes.activities}`)
  const at = sizes.activities.toLocaleString('en-US')
  return [
    valueRow({
      measure: `${name}: create`,
      unit: 'creates/s',
      values: creates,
      note: `${sizes.writers} concurrent writers`,
    }),
    valueRow({ measure: `${name}: append, 1 writer`, unit: 'appends/s', values: sequentialAppends }),
    valueRow({
      measure: `${name}: append, ${sizes.writers} concurrent writers`,
      unit: 'appends/s',
      values: concurrentAppends,
      ...(name === 'SQLite' ? { target: storeTargets.sqliteAppends } : {}),
      ...(name === 'PostgreSQL' ? { target: storeTargets.postgresAppends } : {}),
    }),
    valueRow({ measure: `${name}: list first page (50) at ${at} activities`, unit: 'ms', values: firstPage }),
    valueRow({
      measure: `${name}: list first page, status + metadata filter, at ${at} activities`,
      unit: 'ms',
      values: filteredPage,
      note: `active, tenant 1 of ${TENANTS}`,
      ...(name === 'memory' ? {} : { target: storeTargets.filteredPage }),
    }),
  ]
}

/**
 * The first page, unfiltered and filtered, at `listSmall` activities (the first 100 created
 * through the store, the rest by `bulkFill`; 1 in 100 left running, the others complete) and again
 * at `listLarge` (the rest added by `bulkFill` with the same mix): a list served by indexes takes
 * as long at both ends.
 */
async function measureListScaling(
  context: CaseContext,
  name: string,
  opened: Opened,
  sizes: Sizes,
): Promise<Row[]> {
  const { store, bulkFill } = opened
  if (!bulkFill) return []
  // The first 100 through the store (its schema, its own rows), the rest of the small end in bulk.
  const throughStore = Math.min(100, sizes.listSmall)
  await throughput(throughStore, sizes.writers, async (index) => {
    const agentId = `scale-${index}`
    await store.create({
      agentId,
      agentType: 'bench',
      message: 'Waiting to start',
      metadata: { tenant: `t${index % TENANTS}` },
    })
    await store.append(agentId, { status: 'running', message: 'Started' })
    // 1 in 100 left running (10 in each 1,000: one per tenant), the others complete.
    if (index % 1000 >= 10)
      await store.append(agentId, { status: 'complete', message: 'Done', percentage: 100 })
  })
  const pages = async (count: number) => {
    const unfiltered: number[] = []
    const filtered: number[] = []
    for (let round = 0; round < sizes.rounds; round++) {
      unfiltered.push(await meanLatency(sizes.listCallsPerRound, () => store.list({ limit: 50 })))
      filtered.push(
        await meanLatency(sizes.listCallsPerRound, () =>
          store.list({ status: [...FILTER.status], metadata: FILTER.metadata, limit: FILTER.limit }),
        ),
      )
    }
    const { total } = await store.list({ limit: 1 })
    if (total !== count) throw new Error(`${name} lists ${total} activities, expected ${count}`)
    // The running ones of tenant t3: numbers ending in 003.
    const expected = Math.ceil((count - 3) / 1000)
    const page = await store.list({ status: [...FILTER.status], metadata: FILTER.metadata, limit: 1 })
    if (page.total !== expected)
      throw new Error(`${name} counts ${page.total} filtered activities at ${count}, expected ${expected}`)
    return { unfiltered, filtered }
  }
  await bulkFill(throughStore, sizes.listSmall - throughStore)
  const small = await pages(sizes.listSmall)
  const started = performance.now()
  await bulkFill(sizes.listSmall, sizes.listLarge - sizes.listSmall)
  context.log(
    `4-stores: ${name}: bulk fill to ${sizes.listLarge.toLocaleString('en-US')} activities in ${Math.round(performance.now() - started)} ms`,
  )
  const large = await pages(sizes.listLarge)
  const rows: Row[] = []
  for (const [count, measured] of [
    [sizes.listSmall, small],
    [sizes.listLarge, large],
  ] as const) {
    const at = count.toLocaleString('en-US')
    rows.push(
      valueRow({
        measure: `${name}: list first page (50) at ${at} activities (1% active)`,
        unit: 'ms',
        values: measured.unfiltered,
      }),
      valueRow({
        measure: `${name}: list first page, status + metadata filter, at ${at} activities (1% active)`,
        unit: 'ms',
        values: measured.filtered,
        note: `active, tenant 1 of ${TENANTS}: ${Math.ceil((count - 3) / 1000).toLocaleString('en-US')} matches`,
      }),
    )
  }
  return rows
}

/** A SQLite store on `path`, with a bulk fill through a second connection. */
export function openSqlite(path: string): Opened {
  const store = new SqliteActivityStore({ path })
  return {
    store,
    close: () => store.close(),
    async bulkFill(from, count) {
      const db = new DatabaseSync(path)
      try {
        db.exec('PRAGMA busy_timeout = 10000')
        // The indexes being filled stay in memory; zero-padded ids insert in index order.
        db.exec('PRAGMA cache_size = -262144')
        const at = new Date().toISOString()
        db.exec('BEGIN IMMEDIATE')
        // The table's triggers index the metadata, as for a row the store writes.
        db.prepare(
          `WITH RECURSIVE n(i) AS (SELECT CAST(? AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i < ?)
           INSERT INTO activities (agent_id, agent_type, status, message, percentage, metadata, created_at, updated_at, started_at, finished_at)
           SELECT 'bulk-' || printf('%08d', i), 'bench', CASE WHEN i % 1000 < 10 THEN 'running' ELSE 'complete' END, 'Done',
                  100, json_object('tenant', 't' || (i % ${TENANTS})), ?, ?, ?, CASE WHEN i % 1000 < 10 THEN NULL ELSE ? END
           FROM n`,
        ).run(from, from + count - 1, at, at, at, at)
        db.exec('COMMIT')
      } finally {
        db.close()
      }
    },
  }
}

interface PostgresStoreOptions {
  pool: InstanceType<typeof pg.Pool>
  schema: string
  onError: (error: Error) => void
}
type PostgresStoreClass = new (options: PostgresStoreOptions) => ActivityStore

/** `@runner/postgres`'s store in a throwaway schema of the `DATABASE_URL` database, dropped afterwards. */
export async function openPostgres(context: CaseContext): Promise<Opened | { skipped: string }> {
  const url = process.env.DATABASE_URL
  if (!url) return { skipped: 'DATABASE_URL is not set' }
  const loaded = await loadOptional<{ PostgresActivityStore: PostgresStoreClass }>('@runner/postgres', [
    'PostgresActivityStore',
  ])
  if (!loaded.ok) return { skipped: loaded.reason }
  const schema = `runner_bench_${process.pid}_${Date.now().toString(36)}`
  const pool = new pg.Pool({ connectionString: url, max: 20 })
  const errors: Error[] = []
  pool.on('error', (error) => errors.push(error))
  const store = new loaded.module.PostgresActivityStore({
    pool,
    schema,
    onError: (error) => errors.push(error),
  })
  context.log(`4-stores: PostgreSQL in throwaway schema ${schema}`)
  return {
    store,
    note: `PostgreSQL: throwaway schema ${schema} of DATABASE_URL's database (dropped afterwards), pg pool of 20 connections.`,
    async bulkFill(from, count) {
      // Plain rows of the activities table, then fresh statistics.
      await pool.query(
        `INSERT INTO ${schema}.activities (agent_id, agent_type, status, message, percentage, metadata, created_at, updated_at, started_at, finished_at)
         SELECT 'bulk-' || lpad(i::text, 8, '0'), 'bench', CASE WHEN i % 1000 < 10 THEN 'running' ELSE 'complete' END, 'Done', 100,
                jsonb_build_object('tenant', 't' || (i % ${TENANTS})), now(), now(), now(),
                CASE WHEN i % 1000 < 10 THEN NULL ELSE now() END
         FROM generate_series($1::bigint, $2::bigint) AS i`,
        [from, from + count - 1],
      )
      // The store's metadata index (kept by its write path, not by a trigger): the same rows'
      // keys, as the schema's own migration fills it.
      await pool.query(
        `INSERT INTO ${schema}.activity_metadata (key, value, status, seq)
         SELECT m.key, m.value, a.status, a.seq FROM ${schema}.activities a, jsonb_each(a.metadata) m
         WHERE a.agent_id LIKE 'bulk-%' AND a.agent_id >= 'bulk-' || lpad($1::text, 8, '0')
           AND a.agent_id <= 'bulk-' || lpad($2::text, 8, '0')`,
        [from, from + count - 1],
      )
      await pool.query(`ANALYZE ${schema}.activities`)
      await pool.query(`ANALYZE ${schema}.activity_metadata`)
    },
    async close() {
      try {
        await store.close()
        await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      } finally {
        await pool.end()
      }
      if (errors.length > 0)
        throw new Error(
          `PostgreSQL errors during the case: ${errors.map((error) => error.message).join(' | ')}`,
        )
    },
  }
}

export const storesCase: BenchCase = {
  id: '4-stores',
  group: 4,
  title: 'Activity stores: creates, appends and list latency',
  async run(context) {
    const sizes: Sizes = {
      activities: size(context, 2_000, 100_000),
      rounds: size(context, 3, 5),
      appendsPerRound: size(context, 300, 2000),
      listCallsPerRound: size(context, 5, 10),
      writers: 16,
      listSmall: 1_000,
      listLarge: size(context, 20_000, 1_000_000),
    }
    const scratch = mkdtempSync(join(tmpdir(), 'runner-bench-stores-'))
    const stores: StoreUnderTest[] = [
      { name: 'memory', open: async () => ({ store: new MemoryActivityStore(), close: async () => {} }) },
      { name: 'SQLite', open: async () => openSqlite(join(scratch, 'activities.db')) },
      { name: 'PostgreSQL', open: () => openPostgres(context) },
    ]
    const rows: Row[] = []
    const notes: string[] = []
    try {
      for (const candidate of stores) {
        const opened = await candidate.open()
        if ('skipped' in opened) {
          notes.push(`${candidate.name} skipped: ${opened.skipped}.`)
          continue
        }
        try {
          rows.push(...(await measureStore(context, candidate.name, opened.store, sizes)))
          if (opened.note) notes.push(opened.note)
        } finally {
          await opened.close()
        }
        // The list rows at both ends, on a new file or schema of their own.
        if (candidate.name === 'memory') continue
        const scaled =
          candidate.name === 'SQLite' ? openSqlite(join(scratch, 'scaling.db')) : await candidate.open()
        if ('skipped' in scaled) continue
        try {
          rows.push(...(await measureListScaling(context, candidate.name, scaled, sizes)))
        } finally {
          await scaled.close()
        }
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true })
    }
    notes.push(
      'Creates fill the store in equal chunks (one sample each); appends move activities to running with a progress message; list is the first page of 50 (active first, then newest), unfiltered and filtered. Targets: issue 14.',
      `List rows at ${sizes.listSmall.toLocaleString('en-US')} and ${sizes.listLarge.toLocaleString('en-US')} activities: a new file or schema; the first 100 created through the store (1 in 100 left running, the others complete), the rest added by SQL inserts of rows with the same mix (rows of the activities table only, without log rows: list reads neither the log nor the runs).`,
    )
    return { settings: { ...sizes }, rows, notes }
  },
}
