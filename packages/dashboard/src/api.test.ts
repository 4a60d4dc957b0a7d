import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  type ActivityStore,
  createActivityTracker,
  createPool,
  defineTool,
  MemoryActivityStore,
  type Pool,
} from '@runner/core'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { ScriptedModel, ScriptedRunner, waitForStatus } from '@runner/core/test'
import { PostgresActivityStore } from '@runner/postgres'
import pg from 'pg'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createDashboard, type Dashboard } from './app.js'
import type { DashboardOptions } from './options.js'
import { serveDashboard } from './serve.js'

const databaseUrl = process.env.DATABASE_URL || undefined
const schemas: string[] = []

const stores: Array<[string, () => ActivityStore, boolean]> = [
  ['memory', () => new MemoryActivityStore(), false],
  [
    'SQLite',
    () =>
      new SqliteActivityStore({
        path: path.join(mkdtempSync(path.join(tmpdir(), 'runner-dashboard-')), 'runs.db'),
      }),
    false,
  ],
  [
    'PostgreSQL',
    () => {
      const schema = `runner_dashboard_${process.pid}_${randomBytes(4).toString('hex')}`
      schemas.push(schema)
      return new PostgresActivityStore({ connectionString: databaseUrl as string, schema })
    },
    !databaseUrl,
  ],
]

afterAll(async () => {
  if (!databaseUrl || schemas.length === 0) return
  const admin = new pg.Client({ connectionString: databaseUrl })
  await admin.connect()
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  await admin.end()
})

const TOKEN = 'dashboard-test-token-0123'

/** A JSON request to the dashboard, with the token. */
async function call(dashboard: Dashboard, route: string, init: RequestInit & { token?: string | null } = {}) {
  const { token = TOKEN, ...rest } = init
  const headers = new Headers(rest.headers)
  if (token !== null) headers.set('authorization', `Bearer ${token}`)
  if (rest.body !== undefined) headers.set('content-type', 'application/json')
  const response = await dashboard.fetch(new Request(`http://dashboard.test${route}`, { ...rest, headers }))
  const text = await response.text()
  return {
    status: response.status,
    headers: response.headers,
    // biome-ignore lint/suspicious/noExplicitAny: the tests read whichever field each route answers.
    body: text ? (JSON.parse(text) as any) : undefined,
  }
}

/** Reads SSE frames from a response until `stop` says so (or the stream ends). */
async function readFrames(
  response: Response,
  stop: (frames: Array<Record<string, string>>) => boolean,
): Promise<Array<Record<string, string>>> {
  const frames: Array<Record<string, string>> = []
  const reader = (response.body as ReadableStream<Uint8Array>)
    .pipeThrough(new TextDecoderStream())
    .getReader()
  let buffer = ''
  try {
    while (!stop(frames)) {
      const next = await reader.read()
      if (next.done) break
      buffer += next.value
      let end = buffer.indexOf('\n\n')
      while (end >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const frame: Record<string, string> = {}
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) frame.comment = line.slice(1).trim()
          else {
            const at = line.indexOf(': ')
            frame[line.slice(0, at)] = line.slice(at + 2)
          }
        }
        frames.push(frame)
        end = buffer.indexOf('\n\n')
      }
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
  return frames
}

const dataOf = (frame: Record<string, string> | undefined) => JSON.parse(frame?.data ?? 'null')

describe.each(stores)('the dashboard API on %s', (_name, makeStore, skip) => {
  let store: ActivityStore
  let pool: Pool | undefined
  beforeEach(() => {
    if (!skip) store = makeStore()
  })
  afterEach(async () => {
    await pool?.close()
    pool = undefined
    if (!skip) await store.close()
  })

  const dashboardOf = (options: Partial<DashboardOptions> = {}) =>
    createDashboard({ activity: store, token: TOKEN, ...options })

  async function seed() {
    await store.create({
      agentId: 'a1',
      agentType: 'research',
      message: 'Waiting',
      metadata: { tenant: 'acme' },
    })
    await store.append('a1', { status: 'running', message: 'Searching otters', percentage: 30 })
    await store.create({
      agentId: 'b1',
      agentType: 'support',
      message: 'Waiting',
      metadata: { tenant: 'globex' },
    })
    await store.append('b1', { status: 'running', message: 'Reading the ticket' })
    await store.append('b1', { status: 'complete', message: 'Answered', percentage: 100 })
    await store.create({
      agentId: 'a2',
      agentType: 'support',
      message: 'Waiting',
      metadata: { tenant: 'acme' },
    })
  }

  it.skipIf(skip)(
    'lists runs with status, metadata, agent type and text filters; bad filters are 400 naming the field',
    async () => {
      await seed()
      const dashboard = dashboardOf()
      const all = await call(dashboard, '/api/runs')
      expect(all.status).toBe(200)
      expect(all.body.total).toBe(3)
      expect(all.body.items.map((item: { agentId: string }) => item.agentId).sort()).toEqual([
        'a1',
        'a2',
        'b1',
      ])
      const running = await call(dashboard, '/api/runs?status=running,queued&metadata.tenant=acme')
      expect(running.body.items.map((item: { agentId: string }) => item.agentId).sort()).toEqual(['a1', 'a2'])
      const support = await call(dashboard, '/api/runs?agentType=support')
      expect(support.body.items.map((item: { agentId: string }) => item.agentId).sort()).toEqual(['a2', 'b1'])
      const search = await call(dashboard, '/api/runs?q=OTTERS')
      expect(search.body.items.map((item: { agentId: string }) => item.agentId)).toEqual(['a1'])
      const typed = await call(dashboard, `/api/runs?metadata=${encodeURIComponent('{"tenant":"globex"}')}`)
      expect(typed.body.items.map((item: { agentId: string }) => item.agentId)).toEqual(['b1'])
      for (const [query, field] of [
        ['status=sleeping', 'status'],
        ['limit=0', 'limit'],
        ['limit=5000', 'limit'],
        ['metadata=nope', 'metadata'],
        ['metadata.=x', 'metadata.'],
      ]) {
        const bad = await call(dashboard, `/api/runs?${query}`)
        expect(bad.status, query).toBe(400)
        expect(bad.body.error.field, query).toBe(field)
      }
      const page = await call(dashboard, '/api/runs?limit=2')
      expect(page.body.items).toHaveLength(2)
      const rest = await call(
        dashboard,
        `/api/runs?limit=2&cursor=${encodeURIComponent(page.body.nextCursor)}`,
      )
      expect(rest.body.items).toHaveLength(1)
    },
  )

  it.skipIf(skip)(
    'a run’s detail lists its children (runs and tasks that name it as parent), within the tenant',
    async () => {
      await seed()
      for (const [agentId, tenant] of [
        ['c1', 'acme'],
        ['c2', 'acme'],
        ['c3', 'globex'],
      ] as const)
        await store.create({
          agentId,
          agentType: 'child',
          message: 'Waiting',
          metadata: { tenant, parentId: 'a1' },
        })
      await store.append('c1', { status: 'running', message: 'Reading', percentage: 40 })
      const detail = await call(dashboardOf(), '/api/runs/a1')
      expect(detail.body.childCount).toBe(3)
      expect(detail.body.children.map((child: { agentId: string }) => child.agentId).sort()).toEqual([
        'c1',
        'c2',
        'c3',
      ])
      expect(detail.body.children.find((child: { agentId: string }) => child.agentId === 'c1')).toEqual({
        agentId: 'c1',
        agentType: 'child',
        status: 'running',
        message: 'Reading',
        percentage: 40,
      })
      const scoped = await call(dashboardOf({ tenant: () => ({ tenant: 'acme' }) }), '/api/runs/a1')
      expect(scoped.body.children.map((child: { agentId: string }) => child.agentId).sort()).toEqual([
        'c1',
        'c2',
      ])
      const leaf = await call(dashboardOf(), '/api/runs/c1')
      expect(leaf.body.children).toEqual([])
    },
  )

  it.skipIf(skip)(
    'needs the token on every API route; the page itself is served without it, under a CSP',
    async () => {
      await seed()
      const dashboard = dashboardOf()
      for (const route of ['/api/runs', '/api/stats', '/api/runs/a1', '/api/events']) {
        const refused = await call(dashboard, route, { token: null })
        expect(refused.status, route).toBe(401)
        expect(refused.headers.get('www-authenticate')).toBe('Bearer')
        expect((await call(dashboard, route, { token: 'wrong-token-0123456789' })).status, route).toBe(401)
      }
      const cancel = await call(dashboard, '/api/runs/a1/cancel', { method: 'POST', token: null })
      expect(cancel.status).toBe(401)
      expect((await store.get('a1'))?.status).toBe('running')
      const page = await dashboard.fetch(new Request('http://dashboard.test/'))
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
      expect(page.headers.get('x-content-type-options')).toBe('nosniff')
    },
  )

  it.skipIf(skip)(
    'scopes every read, stream and action to the caller’s tenant: another tenant’s run is 404',
    async () => {
      await seed()
      const dashboard = dashboardOf({
        tenant: (request) => ({ tenant: request.headers.get('x-tenant') ?? 'none' }),
      })
      const acme = { headers: { 'x-tenant': 'acme' } }
      const list = await call(dashboard, '/api/runs', acme)
      expect(list.body.items.map((item: { agentId: string }) => item.agentId).sort()).toEqual(['a1', 'a2'])
      // Asking for another tenant's key value gets nothing, not the other tenant's runs.
      expect((await call(dashboard, '/api/runs?metadata.tenant=globex', acme)).body.items).toEqual([])
      expect((await call(dashboard, '/api/runs/b1', acme)).status).toBe(404)
      expect((await call(dashboard, '/api/runs/b1/cancel', { ...acme, method: 'POST' })).status).toBe(404)
      expect((await call(dashboard, '/api/runs/a1', acme)).status).toBe(200)
      const stats = await call(dashboard, '/api/stats', acme)
      expect(stats.body.counts).toMatchObject({ running: 1, queued: 1, complete: 0 })
      // The live stream carries only the tenant's changes.
      const response = await dashboard.fetch(
        new Request('http://dashboard.test/api/events', {
          headers: { authorization: `Bearer ${TOKEN}`, 'x-tenant': 'acme' },
        }),
      )
      const frames = readFrames(
        response,
        (seen) => seen.filter((frame) => frame.event === 'activity').length >= 1,
      )
      await new Promise((resolve) => setTimeout(resolve, 50))
      await store.append('b1-never', { status: 'running', message: 'x' }).catch(() => {})
      await store.create({
        agentId: 'b2',
        agentType: 'support',
        message: 'Waiting',
        metadata: { tenant: 'globex' },
      })
      await store.create({
        agentId: 'a3',
        agentType: 'support',
        message: 'Waiting',
        metadata: { tenant: 'acme' },
      })
      const events = (await frames).filter((frame) => frame.event === 'activity')
      expect(events.map((frame) => dataOf(frame).agentId)).toEqual(['a3'])
    },
  )

  it.skipIf(skip)(
    'a run’s detail has its log, trajectory and run record; its stream resumes after Last-Event-ID and ends',
    async () => {
      const activity = createActivityTracker({ store })
      const runner = new ScriptedRunner({ activity })
      const gate = Promise.withResolvers<void>()
      const wait = defineTool({
        name: 'wait',
        description: 'Waits.',
        inputSchema: z.object({}),
        execute: async () => {
          await gate.promise
          return 'opened'
        },
      })
      const model = new ScriptedModel([{ toolCalls: [{ name: 'wait', input: {} }] }, { text: 'Done.' }])
      const result = runner.run({ model, tools: [wait] }, 'go', { agentId: 'r1' })
      await waitForStatus(activity, 'r1', 'running')
      const dashboard = dashboardOf()
      const live = await dashboard.fetch(
        new Request('http://dashboard.test/api/runs/r1/events', {
          headers: { authorization: `Bearer ${TOKEN}` },
        }),
      )
      expect(live.headers.get('content-type')).toContain('text/event-stream')
      const firstFrames = await readFrames(live, (seen) => seen.some((frame) => frame.event === 'entry'))
      const lastSeen = firstFrames.filter((frame) => frame.event === 'entry').at(-1)?.id as string
      gate.resolve()
      await result
      const detail = await call(dashboard, '/api/runs/r1')
      expect(detail.body.activity.status).toBe('complete')
      expect(detail.body.activity.log.at(-1).status).toBe('complete')
      expect(detail.body.trajectory.steps.length).toBeGreaterThan(0)
      // A reconnect gets the entries after the last one seen, then `end`.
      const resumed = await dashboard.fetch(
        new Request('http://dashboard.test/api/runs/r1/events', {
          headers: { authorization: `Bearer ${TOKEN}`, 'last-event-id': lastSeen },
        }),
      )
      const rest = await readFrames(resumed, () => false)
      const entries = rest.filter((frame) => frame.event === 'entry')
      expect(Number(entries[0]?.id)).toBe(Number(lastSeen) + 1)
      expect(entries.length).toBe(detail.body.activity.log.length - Number(lastSeen))
      expect(rest.at(-1)).toMatchObject({ event: 'end' })
      // After the end, a reconnect is told to stop.
      const after = await dashboard.fetch(
        new Request('http://dashboard.test/api/runs/r1/events', {
          headers: {
            authorization: `Bearer ${TOKEN}`,
            'last-event-id': String(detail.body.activity.log.length),
          },
        }),
      )
      expect(after.status).toBe(204)
      const bad = await call(dashboard, '/api/runs/r1/events', { headers: { 'last-event-id': 'x' } })
      expect(bad.status).toBe(400)
      expect((await call(dashboard, `/api/runs/${'x'.repeat(300)}`)).body.error.field).toBe('id')
      expect((await call(dashboard, '/api/runs/nope')).status).toBe(404)
    },
  )

  it.skipIf(skip)('a client leaving a live stream touches no run; cancel is an explicit action', async () => {
    await seed()
    const dashboard = dashboardOf()
    const controller = new AbortController()
    const response = await dashboard.fetch(
      new Request('http://dashboard.test/api/runs/a1/events', {
        headers: { authorization: `Bearer ${TOKEN}` },
        signal: controller.signal,
      }),
    )
    await readFrames(response, (seen) => seen.some((frame) => frame.event === 'entry'))
    controller.abort()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect((await store.get('a1'))?.status).toBe('running')
    const canceled = await call(dashboard, '/api/runs/a1/cancel', { method: 'POST' })
    expect(canceled.body).toMatchObject({ canceled: true })
    expect((await store.get('a1'))?.status).toBe('canceled')
    // A finished run is left as it is.
    expect((await call(dashboard, '/api/runs/b1/cancel', { method: 'POST' })).body).toMatchObject({
      canceled: false,
      status: 'complete',
    })
  })

  it.skipIf(skip)(
    'cancels a pool task through the pool (its signal aborts) and approves a waiting one, which completes',
    async () => {
      const activity = createActivityTracker({ store })
      pool = createPool({ activity, concurrency: 2 })
      const runner = new ScriptedRunner({ activity })
      const sent: string[] = []
      const email = defineTool({
        name: 'send_email',
        description: 'Sends an email',
        inputSchema: z.object({ to: z.string() }),
        needsApproval: true,
        execute: ({ to }) => {
          sent.push(to)
          return `sent to ${to}`
        },
      })
      const model = new ScriptedModel([
        { toolCalls: [{ name: 'send_email', input: { to: 'ada@example.org' }, id: 'call-1' }] },
        { text: 'Sent.' },
      ])
      const mail = pool.task('mail', { input: z.string() }, async ({ agentId, input }) => {
        const done = await runner.run({ model, tools: [email] }, input, { agentId })
        return done.text ?? null
      })
      let aborted = false
      const slow = pool.task('slow', { input: z.null() }, async ({ signal }) => {
        await new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => resolve(), { once: true }),
        )
        aborted = true
        return null
      })
      const dashboard = dashboardOf({ pool })
      const waiting = await mail.enqueue('Email Ada')
      await waitForStatus(activity, waiting.agentId, 'waiting')
      const detail = await call(dashboard, `/api/runs/${waiting.agentId}`)
      expect(detail.body.run.pending).toMatchObject([
        { id: 'call-1', kind: 'approval', toolName: 'send_email' },
      ])
      const missing = await call(dashboard, `/api/runs/${waiting.agentId}/approve`, {
        method: 'POST',
        body: '{}',
      })
      expect(missing.body.error.field).toBe('toolCallId')
      const unknown = await call(dashboard, `/api/runs/${waiting.agentId}/approve`, {
        method: 'POST',
        body: JSON.stringify({ toolCallId: 'call-9' }),
      })
      expect(unknown.status).toBe(409)
      const approved = await call(dashboard, `/api/runs/${waiting.agentId}/approve`, {
        method: 'POST',
        body: JSON.stringify({ toolCallId: 'call-1', by: 'ops' }),
      })
      expect(approved.status).toBe(200)
      await expect(mail.result(waiting.agentId)).resolves.toBe('Sent.')
      expect(sent).toEqual(['ada@example.org'])

      const running = await slow.enqueue(null)
      await waitForStatus(activity, running.agentId, 'running')
      const canceled = await call(dashboard, `/api/runs/${running.agentId}/cancel`, { method: 'POST' })
      expect(canceled.body).toEqual({ canceled: true })
      await waitForStatus(activity, running.agentId, 'canceled')
      // The activity is canceled at once; the handler sees its signal abort right after.
      const deadline = Date.now() + 5_000
      while (!aborted && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
      expect(aborted).toBe(true)
    },
  )
  it.skipIf(skip)(
    'retries a failed pool task with the same input; 409 without a pool, 400 for a task that did not fail',
    async () => {
      const activity = createActivityTracker({ store })
      pool = createPool({ activity })
      let calls = 0
      const flaky = pool.task('flaky', { input: z.object({ n: z.number() }) }, async ({ input }) => {
        calls++
        if (calls === 1) throw new Error('upstream down')
        return input.n * 2
      })
      const failed = await flaky.enqueue({ n: 21 }, { metadata: { tenant: 'acme' } })
      await waitForStatus(activity, failed.agentId, 'error')
      expect(
        (await call(dashboardOf(), `/api/runs/${failed.agentId}/retry`, { method: 'POST' })).status,
      ).toBe(409)
      const dashboard = dashboardOf({ pool })
      const retried = await call(dashboard, `/api/runs/${failed.agentId}/retry`, { method: 'POST' })
      expect(retried.status).toBe(201)
      await expect(flaky.result(retried.body.agentId)).resolves.toBe(42)
      const detail = await call(dashboard, `/api/runs/${retried.body.agentId}`)
      expect(detail.body.activity.metadata).toEqual({ tenant: 'acme', retryOf: failed.agentId })
      const again = await call(dashboard, `/api/runs/${retried.body.agentId}/retry`, { method: 'POST' })
      expect(again.status).toBe(400)
      expect(again.body.error.field).toBe('agentId')
    },
  )
})

describe('serveDashboard', () => {
  it('listens on 127.0.0.1 and refuses another address without a token or auth check', async () => {
    const store = new MemoryActivityStore()
    await expect(serveDashboard({ activity: store, hostname: '0.0.0.0', port: 0 })).rejects.toThrow(
      /hostname.*token/,
    )
    const served = await serveDashboard({ activity: store, port: 0 })
    try {
      expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
      const response = await fetch(new URL('api/runs', served.url))
      expect(await response.json()).toEqual({ items: [], total: 0 })
    } finally {
      await served.close()
    }
  })

  it('refuses bad options, naming them', () => {
    expect(() => createDashboard({ activity: {} as ActivityStore })).toThrow(/activity/)
    expect(() => createDashboard({ activity: new MemoryActivityStore(), token: 'short' })).toThrow(/token/)
    expect(() => createDashboard({ activity: new MemoryActivityStore(), basePath: 'admin' })).toThrow(
      /basePath/,
    )
  })
})
