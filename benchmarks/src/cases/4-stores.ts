/**
 * Case 4, activity stores: creates and appends per second, and the latency of `list`'s first page
 * once the store holds 100,000 activities, for the memory store, SQLite (`@runner/core/sqlite`,
 * a WAL file) and PostgreSQL (`@runner/postgres`, when `DATABASE_URL` is set and the package is built).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ActivityStore, MemoryActivityStore } from '@runner/core'
import { SqliteActivityStore } from '@runner/core/sqlite'
import pg from 'pg'
import { type BenchCase, type CaseContext, size } from '../lib/case.ts'
import { loadOptional } from '../lib/optional.ts'
import { type Row, valueRow } from '../lib/results.ts'

export interface Opened {
  store: ActivityStore
  close(): Promise<void>
  note?: string
}

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
}

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
        store.list({ status: ['queued', 'running'], metadata: { tenant: 't3' }, limit: 50 }),
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
    }),
    valueRow({ measure: `${name}: list first page (50) at ${at} activities`, unit: 'ms', values: firstPage }),
    valueRow({
      measure: `${name}: list first page, status + metadata filter, at ${at} activities`,
      unit: 'ms',
      values: filteredPage,
      note: `active, tenant 1 of ${TENANTS}`,
    }),
  ]
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
    }
    const scratch = mkdtempSync(join(tmpdir(), 'runner-bench-stores-'))
    const stores: StoreUnderTest[] = [
      { name: 'memory', open: async () => ({ store: new MemoryActivityStore(), close: async () => {} }) },
      {
        name: 'SQLite',
        open: async () => {
          const store = new SqliteActivityStore({ path: join(scratch, 'activities.db') })
          return { store, close: () => store.close() }
        },
      },
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
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true })
    }
    notes.push(
      'Creates fill the store in equal chunks (one sample each); appends move activities to running with a progress message; list is the first page of 50 (active first, then newest), unfiltered and filtered. No target in the issue for this case.',
    )
    return { settings: { ...sizes }, rows, notes }
  },
}
