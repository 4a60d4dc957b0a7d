/**
 * Case 9, the dashboard (`@runner/dashboard`): the server time of the runs list's first page at
 * 100,000 activities per store, and the live stream's fan-out: 100 watchers of `api/events` on one
 * busy store, events delivered per second and the latency from the write to each watcher.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ActivityStore, MemoryActivityStore } from '@runner/core'
import { type BenchCase, size } from '../lib/case.ts'
import { loadOptional } from '../lib/optional.ts'
import { type Row, type Target, valueRow } from '../lib/results.ts'
import { quantile } from '../lib/stats.ts'
import { type Opened, openPostgres, openSqlite } from './4-stores.ts'

/** Issue 16's target for the fan-out. */
const fanOutTarget = { on: 'value', op: '<', limit: 50, text: 'p99 < 50 ms' } as const satisfies Target

interface DashboardModule {
  createDashboard(options: { activity: ActivityStore; heartbeatMs?: number }): {
    fetch(request: Request): Promise<Response>
  }
}

/** The first page through the dashboard's handler (server time: no network), mean of `calls`. */
async function pageTime(
  dashboard: { fetch(request: Request): Promise<Response> },
  query: string,
  calls: number,
) {
  const start = performance.now()
  for (let index = 0; index < calls; index++) {
    const response = await dashboard.fetch(new Request(`http://bench.test/api/runs?${query}`))
    if (response.status !== 200) throw new Error(`api/runs?${query} answered ${response.status}`)
    await response.arrayBuffer()
  }
  return (performance.now() - start) / calls
}

/** Reads SSE `activity` frames from a response, calling `onData` with each frame's data. */
async function readEvents(response: Response, onData: (data: string) => void, signal: AbortSignal) {
  const reader = (response.body as ReadableStream<Uint8Array>)
    .pipeThrough(new TextDecoderStream())
    .getReader()
  signal.addEventListener('abort', () => void reader.cancel().catch(() => {}), { once: true })
  let buffer = ''
  for (;;) {
    const next = await reader.read().catch(() => ({ done: true as const, value: undefined }))
    if (next.done) return
    buffer += next.value
    let end = buffer.indexOf('\n\n')
    while (end >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      if (block.startsWith('event: activity')) onData(block.slice(block.indexOf('data: ') + 6))
      end = buffer.indexOf('\n\n')
    }
  }
}

export const dashboardCase: BenchCase = {
  id: '9-dashboard',
  group: 9,
  title: 'Dashboard: the runs list at 100,000 activities, and live fan-out to 100 watchers',
  async run(context) {
    const loaded = await loadOptional<DashboardModule>('@runner/dashboard', ['createDashboard'])
    if (!loaded.ok) return { skipped: loaded.reason }
    const { createDashboard } = loaded.module
    const settings = {
      activities: size(context, 5_000, 100_000),
      pageCalls: size(context, 5, 20),
      watchers: 100,
      writes: size(context, 100, 1_000),
      writesPerSecond: 200,
    }
    const scratch = mkdtempSync(join(tmpdir(), 'runner-bench-dashboard-'))
    const rows: Row[] = []
    const notes: string[] = []
    const candidates: Array<{ name: string; open(): Promise<Opened | { skipped: string }> }> = [
      {
        name: 'memory',
        open: async () => {
          const store = new MemoryActivityStore()
          return {
            store,
            close: async () => {},
            async bulkFill(from, count) {
              for (let index = from; index < from + count; index++) {
                const agentId = `bulk-${index}`
                await store.create({
                  agentId,
                  agentType: 'bench',
                  message: 'Waiting',
                  metadata: { tenant: `t${index % 10}` },
                })
                await store.append(agentId, { status: 'running', message: 'Started' })
                if (index % 1000 >= 10)
                  await store.append(agentId, { status: 'complete', message: 'Done', percentage: 100 })
              }
            },
          }
        },
      },
      { name: 'SQLite', open: async () => openSqlite(join(scratch, 'dashboard.db')) },
      { name: 'PostgreSQL', open: () => openPostgres(context) },
    ]
    const at = settings.activities.toLocaleString('en-US')
    try {
      for (const candidate of candidates) {
        const opened = await candidate.open()
        if ('skipped' in opened) {
          notes.push(`${candidate.name} skipped: ${opened.skipped}.`)
          continue
        }
        try {
          // The store makes its tables on first use; then the rows go in in bulk.
          await opened.store.list({ limit: 1 })
          await opened.bulkFill?.(0, settings.activities)
          const dashboard = createDashboard({ activity: opened.store, heartbeatMs: 0 })
          const first: number[] = []
          const filtered: number[] = []
          for (let round = 0; round < 5; round++) {
            first.push(await pageTime(dashboard, 'limit=50', settings.pageCalls))
            filtered.push(
              await pageTime(
                dashboard,
                'status=running,queued&metadata.tenant=t3&limit=50',
                settings.pageCalls,
              ),
            )
          }
          rows.push(
            valueRow({
              measure: `${candidate.name}: api/runs first page (50) at ${at} activities`,
              unit: 'ms',
              values: first,
            }),
            valueRow({
              measure: `${candidate.name}: api/runs, status + metadata filter, at ${at} activities`,
              unit: 'ms',
              values: filtered,
            }),
          )
          context.log(`9-dashboard: ${candidate.name}: list measured`)
          rows.push(...(await fanOut(candidate.name, opened.store, dashboard, settings)))
          context.log(`9-dashboard: ${candidate.name}: fan-out measured`)
          if (opened.note) notes.push(opened.note)
        } finally {
          await opened.close()
        }
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true })
    }
    notes.push(
      `Server time: the dashboard's fetch handler called in process (routing, validation, the store's list, JSON), no network. Fan-out: ${settings.watchers} readers of api/events in one process, one writer appending ${settings.writesPerSecond} progress entries per second; latency from the append call to each reader's receipt of its frame.`,
    )
    return { rows, settings, notes }
  },
}

async function fanOut(
  name: string,
  store: ActivityStore,
  dashboard: { fetch(request: Request): Promise<Response> },
  settings: { watchers: number; writes: number; writesPerSecond: number },
): Promise<Row[]> {
  const agentId = 'fan-out'
  await store.create({ agentId, agentType: 'bench', message: 'Waiting' })
  const sentAt = new Map<string, number>()
  const latencies: number[] = []
  let delivered = 0
  const stop = new AbortController()
  const readers = await Promise.all(
    Array.from({ length: settings.watchers }, async () => {
      const response = await dashboard.fetch(
        new Request('http://bench.test/api/events', { signal: stop.signal }),
      )
      // Wrapped: awaiting the reader here would wait for the end of its stream.
      return {
        done: readEvents(
          response,
          (data) => {
            const received = performance.now()
            const message = /"message":"(w-\d+)"/.exec(data)?.[1]
            const sent = message === undefined ? undefined : sentAt.get(message)
            if (sent === undefined) return
            latencies.push(received - sent)
            delivered++
          },
          stop.signal,
        ),
      }
    }),
  )
  // Let every watch start before writing.
  await new Promise((resolve) => setTimeout(resolve, 200))
  const interval = 1000 / settings.writesPerSecond
  const started = performance.now()
  for (let index = 0; index < settings.writes; index++) {
    const due = started + index * interval
    const wait = due - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    const message = `w-${index}`
    sentAt.set(message, performance.now())
    await store.append(agentId, { status: 'running', message, percentage: index % 100 })
  }
  const expected = settings.writes * settings.watchers
  const deadline = performance.now() + 10_000
  while (delivered < expected && performance.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20))
  const seconds = (performance.now() - started) / 1000
  stop.abort()
  await Promise.allSettled(readers.map((reader) => reader.done))
  if (delivered < expected) throw new Error(`${name}: ${delivered} of ${expected} frames delivered in time`)
  return [
    valueRow({
      measure: `${name}: api/events fan-out, ${settings.watchers} watchers, events delivered`,
      unit: 'events/s',
      values: [delivered / seconds],
      note: `${settings.writes} writes at ${settings.writesPerSecond}/s`,
    }),
    valueRow({
      measure: `${name}: api/events fan-out, latency p50`,
      unit: 'ms',
      values: [quantile(latencies, 0.5)],
    }),
    valueRow({
      measure: `${name}: api/events fan-out, latency p99`,
      unit: 'ms',
      values: [quantile(latencies, 0.99)],
      ...(name === 'SQLite' ? { target: fanOutTarget } : {}),
    }),
  ]
}
