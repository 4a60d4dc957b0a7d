import { createHash, timingSafeEqual } from 'node:crypto'
import {
  ActivityNotFoundError,
  type ActivityStatus,
  type ActivityStore,
  type ActivitySummary,
  ActivityTransitionError,
  DecisionError,
  InvalidOptionsError,
  type MetadataFilter,
  RunnerError,
  type RunRecord,
} from '@runner/core'
import { ACTIVITY_STATUSES } from '@runner/core/store'
import { type Context, Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { serveAsset } from './assets.js'
import { cancelRun } from './cancel.js'
import { runLogStream, watchStream } from './live.js'
import { type DashboardOptions, storeOf, validateDashboardOptions } from './options.js'

/** What the dashboard's routes know of a request: the caller's tenant filter. */
export interface DashboardEnv {
  Variables: { tenant: MetadataFilter | undefined }
}

/** A dashboard: a web-standard `fetch` handler (API, live streams and the page) and the Hono app behind it. */
export interface Dashboard {
  /** Answers one request: mount it in Node's http server, Express, a Next.js route handler, Hono, Bun or Deno. */
  fetch(request: Request): Promise<Response>
  /** The Hono app (to mount with `app.route(...)` in a Hono server of your own). */
  readonly app: Hono<DashboardEnv>
}

/** The largest page the API serves. */
export const MAX_PAGE_SIZE = 200
/** Rows read from the store at most to fill one page filtered by `agentType` or `q` (the store cannot filter those). */
export const MAX_SCANNED_ROWS = 2_000

const STATUS_SET = new Set<string>(ACTIVITY_STATUSES)

/** A request refused with 400, naming the field. */
function badRequest(field: string, message: string): never {
  throw new InvalidOptionsError([{ field, message }], { subject: 'request' })
}

/** The metadata filter of the query (`metadata.<key>=<value>` strings, or `metadata=<JSON object>`). */
function metadataOfQuery(url: URL): MetadataFilter | undefined {
  const filter: MetadataFilter = {}
  let any = false
  const json = url.searchParams.get('metadata')
  if (json !== null) {
    let parsed: unknown
    try {
      parsed = JSON.parse(json)
    } catch {
      badRequest('metadata', 'must be a JSON object such as {"tenant":"acme"}')
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      badRequest('metadata', 'must be a JSON object such as {"tenant":"acme"}')
    }
    for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
      if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) {
        badRequest(`metadata.${key}`, 'must be a string, number, boolean or null')
      }
      filter[key] = value as MetadataFilter[string]
      any = true
    }
  }
  for (const [name, value] of url.searchParams) {
    if (!name.startsWith('metadata.')) continue
    const key = name.slice('metadata.'.length)
    if (key === '') badRequest(name, 'needs a key after "metadata."')
    filter[key] = value
    any = true
  }
  return any ? filter : undefined
}

/**
 * The caller's filter within the tenant's: the tenant's keys win; a caller asking for another
 * value of a tenant key gets nothing (`undefined`).
 */
function scoped(
  filter: MetadataFilter | undefined,
  tenant: MetadataFilter | undefined,
): MetadataFilter | undefined | null {
  if (!tenant) return filter
  if (!filter) return tenant
  for (const [key, value] of Object.entries(filter)) {
    if (key in tenant && tenant[key] !== value) return null
  }
  return { ...filter, ...tenant }
}

function positiveInteger(url: URL, name: string, fallback: number, max: number): number {
  const text = url.searchParams.get(name)
  if (text === null || text === '') return fallback
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    badRequest(name, `must be an integer from 1 to ${max}`)
  }
  return value
}

function statusesOf(url: URL): ActivityStatus[] | undefined {
  const text = url.searchParams.get('status')
  if (text === null || text === '') return undefined
  const statuses = text.split(',').map((part) => part.trim())
  for (const status of statuses) {
    if (!STATUS_SET.has(status))
      badRequest('status', `"${status}" is not one of ${ACTIVITY_STATUSES.join(', ')}`)
  }
  return statuses as ActivityStatus[]
}

/** A run id as the stores accept it: 1 to 200 characters. */
function idOf(context: Context): string {
  const id = context.req.param('id') ?? ''
  if (id.length < 1 || id.length > 200) badRequest('id', 'must be a run id of 1 to 200 characters')
  return id
}

/** What the page shows of a checkpoint: where the run is, never its conversation. */
function checkpointSummary(checkpoint: RunRecord['checkpoint']) {
  if (!checkpoint) return undefined
  const { turn, usage, attempt, at, bytes, runner } = checkpoint
  return { turn, usage, attempt, at, bytes, runner }
}

/**
 * Creates the dashboard over a store: the JSON API under `api/`, its live streams (Server-Sent
 * Events from the store's `watch`, never polling) and the page. See the package README for every
 * route, the security model and the limits.
 */
export function createDashboard(options: DashboardOptions): Dashboard {
  validateDashboardOptions(options)
  const store: ActivityStore = storeOf(options.activity)
  const { pool } = options
  const heartbeatMs = options.heartbeatMs ?? 15_000
  const base = (options.basePath ?? '/').replace(/\/+$/, '')
  const app = new Hono<{ Variables: { tenant: MetadataFilter | undefined } }>().basePath(
    base === '' ? '/' : base,
  )

  app.onError((error, context) => {
    if (error instanceof HTTPException) return error.getResponse()
    if (InvalidOptionsError.isInstance(error)) {
      return context.json({ error: { name: error.name, message: error.message, field: error.field } }, 400)
    }
    if (ActivityNotFoundError.isInstance(error)) {
      return context.json({ error: { name: 'NotFound', message: 'No such run.' } }, 404)
    }
    if (DecisionError.isInstance(error) || ActivityTransitionError.isInstance(error)) {
      return context.json({ error: { name: error.name, message: error.message } }, 409)
    }
    // Anything else is ours to fix: the client learns nothing of it beyond that it failed.
    console.error('@runner/dashboard:', error)
    return context.json({ error: { name: 'InternalError', message: 'The dashboard failed to answer.' } }, 500)
  })

  // Security headers on everything; the page's scripts and styles come from this origin only.
  app.use('*', async (context, next) => {
    await next()
    const headers = context.res.headers
    headers.set(
      'content-security-policy',
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    )
    headers.set('x-content-type-options', 'nosniff')
    headers.set('referrer-policy', 'no-referrer')
  })

  // Every API route: the token, then the application's check, then the tenant.
  app.use('/api/*', async (context, next) => {
    const request = context.req.raw
    if (options.token !== undefined) {
      const header = request.headers.get('authorization') ?? ''
      if (!constantTimeEqual(header, `Bearer ${options.token}`)) {
        return context.json(
          { error: { name: 'Unauthorized', message: 'Send Authorization: Bearer <token>.' } },
          401,
          {
            'www-authenticate': 'Bearer',
          },
        )
      }
    }
    if (options.auth && !(await options.auth(request))) {
      return context.json({ error: { name: 'Unauthorized', message: 'Not allowed.' } }, 401)
    }
    context.set('tenant', options.tenant ? await options.tenant(request) : undefined)
    await next()
  })

  const tenantOf = (context: Context): MetadataFilter | undefined =>
    context.get('tenant') as MetadataFilter | undefined

  app.get('/api/runs', async (context) => {
    const url = new URL(context.req.url)
    const limit = positiveInteger(url, 'limit', 50, MAX_PAGE_SIZE)
    const status = statusesOf(url)
    const filter = scoped(metadataOfQuery(url), tenantOf(context))
    const agentType = url.searchParams.get('agentType') || undefined
    const text = (url.searchParams.get('q') || '').trim().toLowerCase() || undefined
    const cursor = url.searchParams.get('cursor') || undefined
    if (agentType !== undefined && agentType.length > 200)
      badRequest('agentType', 'must be at most 200 characters')
    if (filter === null) return context.json({ items: [], total: 0 })
    const base = { ...(status ? { status } : {}), ...(filter ? { metadata: filter } : {}) }
    if (agentType === undefined && text === undefined) {
      const page = await store.list({ ...base, limit, ...(cursor ? { cursor } : {}) })
      return context.json(page)
    }
    // The stores filter by status and metadata only: read pages and keep the matches.
    const items: ActivitySummary[] = []
    let next = cursor
    let scanned = 0
    do {
      const page = await store.list({
        ...base,
        limit: Math.min(MAX_PAGE_SIZE, MAX_SCANNED_ROWS - scanned),
        ...(next ? { cursor: next } : {}),
      })
      scanned += page.items.length
      next = page.nextCursor
      for (const item of page.items) {
        if (agentType !== undefined && item.agentType !== agentType) continue
        if (
          text !== undefined &&
          !item.message.toLowerCase().includes(text) &&
          !item.agentId.toLowerCase().includes(text)
        )
          continue
        items.push(item)
      }
    } while (next && items.length < limit && scanned < MAX_SCANNED_ROWS)
    return context.json({ items: items.slice(0, limit), ...(next ? { nextCursor: next } : {}), scanned })
  })

  app.get('/api/stats', async (context) => {
    const tenant = tenantOf(context)
    const counts = Object.fromEntries(
      await Promise.all(
        ACTIVITY_STATUSES.map(async (status) => {
          const page = await store.list({ status, limit: 1, ...(tenant ? { metadata: tenant } : {}) })
          return [status, page.total] as const
        }),
      ),
    )
    // Durations of the latest finished runs (the page's chart): newest first.
    const recent = await store.list({
      status: ['complete', 'error', 'canceled'],
      limit: 100,
      ...(tenant ? { metadata: tenant } : {}),
    })
    const durations = recent.items
      .filter((item) => item.startedAt && item.finishedAt)
      .map((item) => ({
        agentId: item.agentId,
        agentType: item.agentType,
        status: item.status,
        finishedAt: item.finishedAt,
        durationMs: Date.parse(item.finishedAt as string) - Date.parse(item.startedAt as string),
      }))
    return context.json({ counts, durations })
  })

  app.get('/api/runs/:id', async (context) => {
    const id = idOf(context)
    const tenant = tenantOf(context)
    const scope = tenant ? { metadata: tenant } : {}
    const activity = await store.get(id, scope)
    if (!activity) throw new ActivityNotFoundError(id)
    const [trajectory, record, children] = await Promise.all([
      store.getTrajectory(id, scope),
      store.getRun(id, scope),
      // The runs and tasks started inside this one (`metadata.parentId`), in the same tenant.
      store.list({ metadata: { ...(tenant ?? {}), parentId: id }, limit: 100 }),
    ])
    const run = record
      ? {
          status: record.status,
          checkpoint: checkpointSummary(record.checkpoint),
          journal: record.journal.map(({ toolCallId, toolName, isError, attempt, at }) => ({
            toolCallId,
            toolName,
            isError,
            attempt,
            at,
          })),
          ...(record.pending ? { pending: record.pending } : {}),
          ...(record.expiresAt ? { expiresAt: record.expiresAt } : {}),
        }
      : undefined
    return context.json({
      activity,
      trajectory: trajectory ?? null,
      run: run ?? null,
      children: children.items.map(({ agentId, agentType, status, message, percentage }) => ({
        agentId,
        agentType,
        status,
        message,
        percentage,
      })),
      childCount: children.total,
    })
  })

  app.get('/api/events', (context) => {
    const url = new URL(context.req.url)
    const filter = scoped(metadataOfQuery(url), tenantOf(context))
    return watchStream(store, context.req.raw, filter, heartbeatMs)
  })

  app.get('/api/runs/:id/events', async (context) => {
    const id = idOf(context)
    const tenant = tenantOf(context)
    return runLogStream(store, context.req.raw, id, tenant, heartbeatMs)
  })

  /** The run an action is for, in the caller's tenant; 404 otherwise. */
  const runFor = async (context: Context) => {
    const id = idOf(context)
    const tenant = tenantOf(context)
    const activity = await store.get(id, tenant ? { metadata: tenant } : {})
    if (!activity) throw new ActivityNotFoundError(id)
    return activity
  }

  app.post('/api/runs/:id/cancel', async (context) => {
    const activity = await runFor(context)
    return context.json(await cancelRun(store, activity, { pool, message: 'Canceled from the dashboard' }))
  })

  app.post('/api/runs/:id/retry', async (context) => {
    const activity = await runFor(context)
    if (!pool) {
      return context.json(
        {
          error: {
            name: 'NoPool',
            message:
              'This dashboard has no pool to enqueue the task on: create it with createDashboard({ pool }).',
          },
        },
        409,
      )
    }
    try {
      const { agentId } = await pool.retry(activity.agentId)
      return context.json({ agentId }, 201)
    } catch (error) {
      // Not failed (400 names agentId), or its job was not kept: the client is told why.
      if (InvalidOptionsError.isInstance(error)) throw error
      if (RunnerError.isInstance(error))
        return context.json({ error: { name: 'NotRetryable', message: error.message } }, 409)
      throw error
    }
  })

  const decisionBody = async (context: Context) => {
    let body: unknown
    try {
      body = await context.req.json()
    } catch {
      badRequest('body', 'must be JSON: { "toolCallId": "...", "reason"?: "...", "input"?: ... }')
    }
    const value = body as { toolCallId?: unknown; reason?: unknown; input?: unknown; by?: unknown }
    if (typeof value !== 'object' || value === null) badRequest('body', 'must be a JSON object')
    if (typeof value.toolCallId !== 'string' || value.toolCallId === '')
      badRequest('toolCallId', 'must be the id of a pending tool call')
    if (value.reason !== undefined && typeof value.reason !== 'string')
      badRequest('reason', 'must be a string')
    if (value.by !== undefined && (typeof value.by !== 'string' || value.by.length > 200))
      badRequest('by', 'must be a string of at most 200 characters')
    return value as { toolCallId: string; reason?: string; input?: unknown; by?: string }
  }

  for (const action of ['approve', 'deny'] as const) {
    app.post(`/api/runs/:id/${action}`, async (context) => {
      const activity = await runFor(context)
      const body = await decisionBody(context)
      if (!pool) {
        return context.json(
          {
            error: {
              name: 'NoPool',
              message:
                'This dashboard has no pool to continue the run on: create it with createDashboard({ pool }).',
            },
          },
          409,
        )
      }
      const decisionOptions = {
        ...(body.reason !== undefined ? { reason: body.reason } : {}),
        ...(body.by !== undefined ? { by: body.by } : {}),
      }
      const record =
        action === 'approve'
          ? await pool.approve(activity.agentId, body.toolCallId, {
              ...decisionOptions,
              ...(body.input !== undefined ? { input: body.input } : {}),
            })
          : await pool.deny(activity.agentId, body.toolCallId, decisionOptions)
      return context.json({ status: record.status, pending: record.pending ?? [] })
    })
  }

  app.all('/api/*', (context) =>
    context.json({ error: { name: 'NotFound', message: 'No such route.' } }, 404),
  )

  // The page: prebuilt files shipped in the package, no build step on the user's side.
  app.get('/*', async (context) => {
    const path = context.req.path.slice(base.length)
    // The page's links are relative: at the base path without its slash they would point outside it.
    if (path === '' && base !== '') {
      const location = `${base}/${new URL(context.req.url).search}`
      return new Response(null, { status: 308, headers: { location } })
    }
    return serveAsset(path || '/')
  })

  return {
    app,
    fetch: async (request) => app.fetch(request),
  }
}

/** Compares secrets in time that does not depend on where they differ (digests: equal lengths). */
function constantTimeEqual(a: string, b: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest()
  return timingSafeEqual(digest(a), digest(b))
}
