import {
  type ActivityEvent,
  ActivityTransitionError,
  InvalidOptionsError,
  RunnerError,
  type Trajectory,
  ValueTooLargeError,
} from '@runner/core'
import pg from 'pg'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { PostgresActivityStore, type PostgresActivityStoreOptions } from './index.js'
import {
  adminPool,
  databaseUrl,
  dropSchema,
  endAdminPool,
  freshSchema,
  urlWithApplicationName,
} from './test-helpers/database.js'
import {
  createReleasedSchema,
  type ReleasedEntry,
  schemaShape,
  writeReleasedActivity,
} from './test-helpers/old-schemas.js'
import { TcpProxy } from './test-helpers/tcp-proxy.js'

// The ActivityStore contract runs in conformance.test.ts; this file covers what is PostgreSQL's own.

const stores: PostgresActivityStore[] = []
const schemas: string[] = []
const pools: pg.Pool[] = []
const controllers: AbortController[] = []

afterEach(async () => {
  for (const controller of controllers.splice(0)) controller.abort()
  for (const store of stores.splice(0)) await store.close()
  for (const pool of pools.splice(0)) await pool.end()
  if (databaseUrl) for (const schema of schemas.splice(0)) await dropSchema(schema)
})

afterAll(endAdminPool)

/** A store on `schema` (a fresh one by default), closed and dropped after the test. */
function open(options: Partial<PostgresActivityStoreOptions> = {}): PostgresActivityStore {
  const schema = options.schema ?? freshSchema('store')
  if (!schemas.includes(schema)) schemas.push(schema)
  const store = new PostgresActivityStore({
    ...(options.pool ? {} : { connectionString: databaseUrl! }),
    ...options,
    schema,
  })
  stores.push(store)
  return store
}

function signal(): AbortSignal {
  const controller = new AbortController()
  controllers.push(controller)
  return controller.signal
}

/** Reads `count` events, failing with what arrived if they take longer than `timeoutMs`. */
async function take(iterator: AsyncIterator<ActivityEvent>, count: number, timeoutMs = 10_000) {
  const events: ActivityEvent[] = []
  const deadline = Date.now() + timeoutMs
  while (events.length < count) {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now()))
    })
    const next = await Promise.race([iterator.next(), timeout]).finally(() => clearTimeout(timer))
    if (next === 'timeout' || next.done) {
      throw new Error(
        `expected ${count} events, got ${events.length}: ${JSON.stringify(events.map(keyOf))}${next === 'timeout' ? '' : ' (ended)'}`,
      )
    }
    events.push(next.value)
  }
  return events
}

/** The rows `schema_version` holds once every migration ran: 1 .. schemaVersion. */
const allVersions = () =>
  Array.from({ length: PostgresActivityStore.schemaVersion }, (_, index) => ({ version: index + 1 }))

const keyOf = (event: ActivityEvent) => `${event.agentId}:${event.entry.message}`

/**
 * Waits until the watchers of `store` have started. Any call on a store waits for its watchers to
 * start; a change written through *another* store (another process) right after `watch()` could
 * otherwise commit before the watcher began, and not be delivered.
 */
async function watchersStarted(store: PostgresActivityStore): Promise<void> {
  await store.countActive()
}

/** Polls `check` until it returns true (no fixed sleeps: the machine may be slow). */
async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected the call to be refused, but it succeeded')
}

function invalidField(action: () => unknown): string | undefined {
  try {
    action()
  } catch (error) {
    if (InvalidOptionsError.isInstance(error)) return error.field
    throw error
  }
  return undefined
}

describe('PostgresActivityStore options', () => {
  it('needs exactly one of pool and connectionString', () => {
    expect(invalidField(() => new PostgresActivityStore({}))).toBe('connectionString')
    const pool = new pg.Pool()
    expect(
      invalidField(() => new PostgresActivityStore({ pool, connectionString: 'postgres://localhost/x' })),
    ).toBe('pool')
    expect(invalidField(() => new PostgresActivityStore({ pool, poolConfig: { max: 2 } }))).toBe('poolConfig')
    expect(invalidField(() => new PostgresActivityStore({ pool: {} as pg.Pool }))).toBe('pool')
  })

  it('validates the schema, the channel and unknown keys, naming the field', () => {
    const url = 'postgres://localhost/x'
    expect(
      invalidField(() => new PostgresActivityStore({ connectionString: url, schema: 'my-schema' })),
    ).toBe('schema')
    expect(invalidField(() => new PostgresActivityStore({ connectionString: url, schema: '1abc' }))).toBe(
      'schema',
    )
    expect(
      invalidField(() => new PostgresActivityStore({ connectionString: url, notifyChannel: 'x'.repeat(64) })),
    ).toBe('notifyChannel')
    expect(
      invalidField(() => new PostgresActivityStore({ connectionString: url, schema: 's'.repeat(60) })),
    ).toBe('notifyChannel')
    expect(
      invalidField(() => new PostgresActivityStore({ connectionString: url, shema: 'x' } as never)),
    ).toBe('shema')
    expect(
      invalidField(() => new PostgresActivityStore({ connectionString: url, migrate: 'yes' as never })),
    ).toBe('migrate')
    for (const maxRecordBytes of [0, 1.5, 513 * 1024 * 1024]) {
      expect(invalidField(() => new PostgresActivityStore({ connectionString: url, maxRecordBytes }))).toBe(
        'maxRecordBytes',
      )
    }
  })

  it('accepts a connection string alone, and connects only on first use', async () => {
    const store = new PostgresActivityStore('postgres://nobody@127.0.0.1:1/none')
    expect(store.schema).toBe('runner')
    const error = await rejectionOf(store.countActive())
    expect(RunnerError.isInstance(error)).toBe(true)
    expect((error as Error).message).toMatch(/Cannot open the PostgreSQL activity store \(schema "runner"\)/)
    expect((error as Error).message).toMatch(/reachable/)
    await store.close()
  })
})

// Generous: the machines that run this are shared; a working store takes milliseconds.
describe.skipIf(!databaseUrl)(
  'PostgresActivityStore on PostgreSQL (DATABASE_URL)',
  { timeout: 60_000 },
  () => {
    describe('schema and migrations', () => {
      it('creates its tables in the schema on first use and records the version', async () => {
        const store = open()
        await store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
        const { rows: tables } = await adminPool().query<{ table_name: string }>(
          'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
          [store.schema],
        )
        expect(tables.map((row) => row.table_name)).toEqual([
          'activities',
          'activity_log',
          'activity_metadata',
          'documents',
          'job_groups',
          'jobs',
          'run_journal',
          'runs',
          'schema_version',
          'trajectories',
        ])
        const { rows: versions } = await adminPool().query(
          `SELECT version FROM "${store.schema}".schema_version ORDER BY version`,
        )
        expect(versions).toEqual(allVersions())
        const { rows: indexes } = await adminPool().query<{ indexname: string }>(
          'SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname',
          [store.schema],
        )
        expect(indexes.map((row) => row.indexname)).toEqual(
          expect.arrayContaining([
            'activities_list_order',
            'activities_metadata',
            'activities_status_seq',
            'activity_metadata_pkey',
          ]),
        )
      })

      it('migrates once when several stores open the same new schema at the same time', async () => {
        const schema = freshSchema('race')
        const racing = Array.from({ length: 5 }, () => open({ schema }))
        await Promise.all(
          racing.map((store, index) =>
            store.create({ agentId: `a${index}`, agentType: 'test', message: 'Waiting' }),
          ),
        )
        const { rows } = await adminPool().query(
          `SELECT version FROM "${schema}".schema_version ORDER BY version`,
        )
        expect(rows, 'each migration ran once').toEqual(allVersions())
        expect((await racing[0]!.list()).total).toBe(5)
      })

      it('reopens an existing schema without migrating again, and keeps everything', async () => {
        const first = open()
        await first.create({
          agentId: 'a1',
          agentType: 'test',
          message: 'Waiting',
          metadata: { tenant: 't1' },
        })
        await first.append('a1', { status: 'running', message: 'Started', percentage: 10 })
        await first.saveTrajectory('a1', trajectoryOf('a1'))
        const before = await first.get('a1')
        await first.close()

        const second = open({ schema: first.schema })
        expect(await second.get('a1')).toEqual(before)
        expect(await second.getTrajectory('a1')).toEqual(trajectoryOf('a1'))
        await second.create({ agentId: 'a2', agentType: 'test', message: 'Waiting' })
        expect((await second.list()).items.map((item) => item.agentId)).toEqual(['a2', 'a1'])
        const { rows } = await adminPool().query(
          `SELECT version FROM "${first.schema}".schema_version ORDER BY version`,
        )
        expect(rows).toEqual(allVersions())
      })

      it('upgrades a schema of version 1, whose rows then work as new ones', async () => {
        const schema = freshSchema('v1')
        schemas.push(schema)
        // As a process of the first release left it.
        await createReleasedSchema(adminPool(), schema, 1)
        await writeReleasedActivity(adminPool(), schema, 1, {
          agentId: 'a1',
          agentType: 'test',
          metadata: {},
          log: [
            { status: 'queued', message: 'Waiting', percentage: 0, at: '2025-03-01T10:00:00.000Z' },
            { status: 'running', message: 'Started', percentage: null, at: '2025-03-01T10:00:01.000Z' },
          ],
        })

        const upgraded = open({ schema })
        const appended = await upgraded.append('a1', { status: 'running', message: 'Working' })
        expect(appended.log.map((entry) => entry.message)).toEqual(['Waiting', 'Started', 'Working'])
        const { rows } = await adminPool().query(
          `SELECT version FROM "${schema}".schema_version ORDER BY version`,
        )
        expect(rows).toEqual(allVersions())
        const { rows: ids } = await adminPool().query(
          `SELECT a.last_log_id = (SELECT max(id) FROM "${schema}".activity_log) AS latest
           FROM "${schema}".activities a`,
        )
        expect(ids).toEqual([{ latest: true }])
      })

      describe('a schema of version 2 (log entries without attempt and kind)', () => {
        const doneLog: ReleasedEntry[] = [
          { status: 'queued', message: 'Waiting to start', percentage: 0, at: '2025-03-01T10:00:00.000Z' },
          { status: 'running', message: 'Started', percentage: null, at: '2025-03-01T10:00:01.000Z' },
          {
            status: 'running',
            message: 'Retry 1/2: overloaded',
            percentage: 10,
            at: '2025-03-01T10:00:02.000Z',
          },
          { status: 'complete', message: 'Complete', percentage: 100, at: '2025-03-01T10:00:03.000Z' },
        ]
        const workingLog: ReleasedEntry[] = [
          { status: 'queued', message: 'Waiting to start', percentage: 0, at: '2025-03-01T11:00:00.000Z' },
          { status: 'running', message: 'Started', percentage: null, at: '2025-03-01T11:00:01.000Z' },
          { status: 'running', message: 'Searching', percentage: 40, at: '2025-03-01T11:00:02.000Z' },
        ]

        /** A schema as a version-2 store left it: one finished activity and one running. */
        async function versionTwoSchema(): Promise<string> {
          const schema = freshSchema('v2')
          schemas.push(schema)
          await createReleasedSchema(adminPool(), schema, 2)
          await writeReleasedActivity(adminPool(), schema, 2, {
            agentId: 'done',
            agentType: 'research',
            metadata: { tenant: 't1' },
            log: doneLog,
          })
          await writeReleasedActivity(adminPool(), schema, 2, {
            agentId: 'working',
            agentType: 'research',
            metadata: {},
            log: workingLog,
          })
          return schema
        }

        it('keeps every old entry, read back without attempt or kind', async () => {
          const store = open({ schema: await versionTwoSchema() })
          expect(await store.get('done')).toStrictEqual({
            agentId: 'done',
            agentType: 'research',
            status: 'complete',
            message: 'Complete',
            percentage: 100,
            metadata: { tenant: 't1' },
            createdAt: doneLog[0]!.at,
            updatedAt: doneLog[3]!.at,
            startedAt: doneLog[1]!.at,
            finishedAt: doneLog[3]!.at,
            log: doneLog,
          })
          expect((await store.get('working'))!.log, 'old entries have no attempt or kind key').toStrictEqual(
            workingLog,
          )
          expect((await store.list()).items.map((item) => item.agentId)).toEqual(['working', 'done'])
          expect(await store.countActive()).toBe(1)
        })

        it('accepts new entries with attempt and kind next to the old ones, in append, get and watch across stores', async () => {
          const schema = await versionTwoSchema()
          const watching = open({ schema })
          const writing = open({ schema })
          const reader = watching.watch({}, signal())[Symbol.asyncIterator]()
          await watchersStarted(watching)
          const retried = await writing.append('working', {
            status: 'running',
            message: 'Retry 1/3: overloaded',
            attempt: 2,
            kind: 'retry',
          })
          const retryEntry = {
            status: 'running',
            message: 'Retry 1/3: overloaded',
            percentage: null,
            at: retried.updatedAt,
            attempt: 2,
            kind: 'retry',
          }
          expect(retried.log).toStrictEqual([...workingLog, retryEntry])
          const created = await writing.create({ agentId: 'new', agentType: 'research', message: 'Waiting' })
          const plain = await writing.append('new', { status: 'running', message: 'Started' })
          const events = await take(reader, 3)
          expect(
            events.map((event) => event.entry),
            'a watcher in another store gets each entry with its fields, and no key for a field not given',
          ).toStrictEqual([retryEntry, created.log[0], plain.log[1]])
          expect(created.log[0]).toStrictEqual({
            status: 'queued',
            message: 'Waiting',
            percentage: 0,
            at: created.createdAt,
            kind: 'lifecycle',
          })
          expect(Object.hasOwn(plain.log[1]!, 'kind'), 'an entry written without a kind has none').toBe(false)
          expect((await watching.get('working'))!.log).toStrictEqual([...workingLog, retryEntry])
          expect((await watching.get('done'))!.log).toStrictEqual(doneLog)
        })

        it('records every version, and ends with the same schema as a new one', async () => {
          const schema = await versionTwoSchema()
          await open({ schema }).countActive()
          const { rows } = await adminPool().query(
            `SELECT version FROM "${schema}".schema_version ORDER BY version`,
          )
          expect(rows).toEqual(allVersions())
          const fresh = open()
          await fresh.countActive()
          expect(await schemaShape(adminPool(), schema)).toEqual(await schemaShape(adminPool(), fresh.schema))
        })

        it('refuses an invalid attempt or kind in the database itself, not only in the store', async () => {
          const schema = await versionTwoSchema()
          await open({ schema }).countActive()
          const insert = (attempt: number | null, kind: string | null) =>
            adminPool().query(
              `INSERT INTO "${schema}".activity_log (agent_id, status, message, percentage, activity_percentage, at, attempt, kind)
               VALUES ('done', 'complete', 'x', NULL, 100, now(), $1, $2)`,
              [attempt, kind],
            )
          expect(String(await rejectionOf(insert(0, null)))).toMatch(/activity_log_attempt_check/)
          expect(String(await rejectionOf(insert(null, 'retrying')))).toMatch(/activity_log_kind_check/)
        })
      })

      describe('a schema of version 3 (before durable runs and the waiting status)', () => {
        const doneLog: ReleasedEntry[] = [
          {
            status: 'queued',
            message: 'Waiting to start',
            percentage: 0,
            at: '2025-04-01T10:00:00.000Z',
            kind: 'lifecycle',
          },
          {
            status: 'running',
            message: 'Started',
            percentage: null,
            at: '2025-04-01T10:00:01.000Z',
            attempt: 1,
          },
          {
            status: 'complete',
            message: 'Complete',
            percentage: 100,
            at: '2025-04-01T10:00:02.000Z',
            attempt: 1,
            kind: 'lifecycle',
          },
        ]
        const workingLog: ReleasedEntry[] = [
          { status: 'queued', message: 'Waiting to start', percentage: 0, at: '2025-04-01T11:00:00.000Z' },
          {
            status: 'running',
            message: 'Searching',
            percentage: 30,
            at: '2025-04-01T11:00:01.000Z',
            attempt: 2,
            kind: 'progress',
          },
        ]
        const queuedLog: ReleasedEntry[] = [
          { status: 'queued', message: 'Waiting to start', percentage: 0, at: '2025-04-01T12:00:00.000Z' },
        ]

        /** A schema as a version-3 store left it: one finished activity, one running, one queued. */
        async function versionThreeSchema(): Promise<string> {
          const schema = freshSchema('v3')
          schemas.push(schema)
          await createReleasedSchema(adminPool(), schema, 3)
          for (const [agentId, log, metadata] of [
            ['done', doneLog, { tenant: 't1' }],
            ['working', workingLog, { tenant: 't1' }],
            ['queued', queuedLog, {}],
          ] as const) {
            await writeReleasedActivity(adminPool(), schema, 3, {
              agentId,
              agentType: 'research',
              metadata,
              log,
            })
          }
          return schema
        }

        it('keeps every row as it was, records every version and ends with the same schema as a new one', async () => {
          const schema = await versionThreeSchema()
          const { rows: before } = await adminPool().query(
            `SELECT a.*, (SELECT json_agg(l ORDER BY l.id) FROM "${schema}".activity_log l WHERE l.agent_id = a.agent_id) AS log
             FROM "${schema}".activities a ORDER BY a.seq`,
          )
          const store = open({ schema })
          expect((await store.get('done'))!.log).toStrictEqual(doneLog)
          expect((await store.get('working'))!.log).toStrictEqual(workingLog)
          const { rows: after } = await adminPool().query(
            `SELECT a.*, (SELECT json_agg(l ORDER BY l.id) FROM "${schema}".activity_log l WHERE l.agent_id = a.agent_id) AS log
             FROM "${schema}".activities a ORDER BY a.seq`,
          )
          expect(after, 'the upgrade rewrites no row').toEqual(before)
          const { rows } = await adminPool().query(
            `SELECT version FROM "${schema}".schema_version ORDER BY version`,
          )
          expect(rows).toEqual(allVersions())
          const fresh = open()
          await fresh.countActive()
          expect(await schemaShape(adminPool(), schema)).toEqual(await schemaShape(adminPool(), fresh.schema))
        })

        it('accepts waiting afterwards: in the status columns, the list order, countActive and the run record', async () => {
          const schema = await versionThreeSchema()
          const store = open({ schema })
          const waiting = await store.append('working', {
            status: 'waiting',
            message: 'Waiting for approval',
            kind: 'approval',
            checkpoint: {
              state: { turn: 3 },
              runner: 'test',
              turn: 3,
              usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
              attempt: 2,
            },
            pending: [{ id: 'call-1', kind: 'approval', toolName: 'send' }],
          })
          expect(waiting.log).toStrictEqual([
            ...workingLog,
            {
              status: 'waiting',
              message: 'Waiting for approval',
              percentage: null,
              at: waiting.updatedAt,
              kind: 'approval',
            },
          ])
          expect((await store.list()).items.map((item) => [item.agentId, item.status])).toEqual([
            ['queued', 'queued'],
            ['working', 'waiting'],
            ['done', 'complete'],
          ])
          expect(
            (await store.list({ limit: 1 })).nextCursor,
            'a cursor past a waiting activity',
          ).toBeDefined()
          const second = await store.list({ limit: 1, cursor: (await store.list({ limit: 2 })).nextCursor! })
          expect(second.items.map((item) => item.agentId)).toEqual(['done'])
          expect(await store.countActive(), 'waiting counts as unfinished').toBe(2)
          expect(await store.countActive({ metadata: { tenant: 't1' } })).toBe(1)
          expect(await store.getRun('working')).toMatchObject({
            status: 'waiting',
            checkpoint: { state: { turn: 3 } },
            pending: [{ id: 'call-1', kind: 'approval', toolName: 'send' }],
          })
          await store.decide('working', 'call-1', { type: 'approve' })
          await store.append('working', { status: 'running', message: 'Resumed', kind: 'resume' })
          expect((await store.get('working'))!.status).toBe('running')
          const { rows: checks } = await adminPool().query(
            `SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint
             WHERE conname IN ('activities_status_check', 'activity_log_status_check')
               AND connamespace = $1::regnamespace`,
            [`"${schema}"`],
          )
          expect(checks).toHaveLength(2)
          for (const check of checks) expect(check.definition).toMatch(/'waiting'/)
          const { rows: indexes } = await adminPool().query(
            `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'activities_list_order'`,
            [schema],
          )
          expect(indexes[0].indexdef, 'the list-order index counts waiting among the unfinished').toMatch(
            /'waiting'/,
          )
          const refused = await rejectionOf(
            adminPool().query(
              `UPDATE "${schema}".activities SET status = 'paused' WHERE agent_id = 'queued'`,
            ),
          )
          expect(String(refused), 'the database still refuses an unknown status').toMatch(
            /activities_status_check/,
          )
        })
      })

      describe('a schema of version 4 (before the metadata index)', () => {
        const at = (second: number) => `2025-05-01T10:00:${String(second).padStart(2, '0')}.000Z`
        const queued = (second: number): ReleasedEntry => ({
          status: 'queued',
          message: 'Waiting to start',
          percentage: 0,
          at: at(second),
        })
        const released: Array<{ agentId: string; metadata: Record<string, unknown>; log: ReleasedEntry[] }> =
          [
            { agentId: 'q1', metadata: { tenant: 't1', tier: 2 }, log: [queued(0)] },
            {
              agentId: 'r1',
              metadata: { tenant: 't1', nested: { tenant: 't2' } },
              log: [queued(1), { status: 'running', message: 'Working', percentage: 10, at: at(2) }],
            },
            {
              agentId: 'w1',
              metadata: { tenant: 't2', flag: true, none: null },
              log: [
                queued(3),
                { status: 'waiting', message: 'Waiting for approval', percentage: null, at: at(4) },
              ],
            },
            {
              agentId: 'c1',
              metadata: { tenant: 't1', tier: '2' },
              log: [
                queued(5),
                { status: 'running', message: 'Working', percentage: null, at: at(6) },
                { status: 'complete', message: 'Done', percentage: 100, at: at(7) },
              ],
            },
          ]

        /** A schema as a version-4 store left it. */
        async function versionFourSchema(): Promise<string> {
          const schema = freshSchema('v4')
          schemas.push(schema)
          await createReleasedSchema(adminPool(), schema, 4)
          for (const activity of released) {
            await writeReleasedActivity(adminPool(), schema, 4, { ...activity, agentType: 'research' })
          }
          return schema
        }

        const ids = (page: { items: { agentId: string }[] }) => page.items.map((item) => item.agentId)

        it('fills the metadata index from the existing rows: filters, totals and countActive as before', async () => {
          const schema = await versionFourSchema()
          const store = open({ schema })
          expect(ids(await store.list({ metadata: { tenant: 't1' } }))).toEqual(['r1', 'q1', 'c1'])
          expect(
            await store.list({ status: ['queued', 'running'], metadata: { tenant: 't1' } }),
          ).toMatchObject({
            total: 2,
          })
          expect(
            ids(await store.list({ status: 'complete', metadata: { tenant: 't1', tier: '2' } })),
          ).toEqual(['c1'])
          expect(ids(await store.list({ metadata: { tier: 2 } })), 'type-exact: 2 is not "2"').toEqual(['q1'])
          expect(
            ids(await store.list({ metadata: { tenant: 't2' } })),
            'nested keys are not top-level keys',
          ).toEqual(['w1'])
          expect(ids(await store.list({ metadata: { flag: true, none: null } }))).toEqual(['w1'])
          expect(await store.countActive({ metadata: { tenant: 't1' } })).toBe(2)
          expect(await store.countActive({ metadata: { tenant: 't2' } })).toBe(1)
          const { rows } = await adminPool().query(
            `SELECT m.key, m.value::text AS value, m.status FROM "${schema}".activity_metadata m
             JOIN "${schema}".activities a USING (seq) WHERE a.agent_id = 'w1' ORDER BY m.key`,
          )
          expect(rows, 'one row per key with a primitive value').toEqual([
            { key: 'flag', value: 'true', status: 'waiting' },
            { key: 'none', value: 'null', status: 'waiting' },
            { key: 'tenant', value: '"t2"', status: 'waiting' },
          ])
        })

        it('keeps the index in step with later writes, and ends with the same schema as a new one', async () => {
          const schema = await versionFourSchema()
          const store = open({ schema })
          await store.append('q1', { status: 'running', message: 'Started' })
          await store.append('r1', { status: 'error', message: 'Failed' })
          await store.create({
            agentId: 'n1',
            agentType: 'research',
            message: 'Waiting',
            metadata: { tenant: 't1' },
          })
          expect(ids(await store.list({ status: 'running', metadata: { tenant: 't1' } }))).toEqual(['q1'])
          expect(ids(await store.list({ status: ['error', 'queued'], metadata: { tenant: 't1' } }))).toEqual([
            'n1',
            'r1',
          ])
          expect(await store.countActive({ metadata: { tenant: 't1' } })).toBe(2)
          const { rows } = await adminPool().query(
            `SELECT version FROM "${schema}".schema_version ORDER BY version`,
          )
          expect(rows).toEqual(allVersions())
          const fresh = open()
          await fresh.countActive()
          expect(await schemaShape(adminPool(), schema)).toEqual(await schemaShape(adminPool(), fresh.schema))
        })
      })

      it('refuses a schema written by a newer version', async () => {
        const first = open()
        await first.countActive()
        await adminPool().query(`INSERT INTO "${first.schema}".schema_version (version) VALUES (99)`)
        const error = await rejectionOf(open({ schema: first.schema }).countActive())
        expect(RunnerError.isInstance(error)).toBe(true)
        expect((error as Error).message).toMatch(
          `version 99, newer than this @runner/postgres supports (${PostgresActivityStore.schemaVersion})`,
        )
      })

      it('with migrate: false, only checks: fails clearly on a missing schema, works on a current one', async () => {
        const schema = freshSchema('nomigrate')
        const checking = open({ schema, migrate: false })
        const error = await rejectionOf(checking.countActive())
        expect(RunnerError.isInstance(error)).toBe(true)
        expect((error as Error).message).toMatch(/has no @runner activity tables.*migrate: true/)
        const { rows } = await adminPool().query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])
        expect(rows, 'nothing was created').toHaveLength(0)

        await open({ schema }).countActive()
        expect(await checking.countActive(), 'a failed preparation is tried again on the next call').toBe(0)
      })

      it('runs with the privileges the README names: a schema owner migrates, a DML-only role works', async () => {
        const schema = freshSchema('roles')
        schemas.push(schema)
        const suffix = `${process.pid}_${schema.slice(-8)}`
        const owner = `runner_owner_${suffix}`
        const app = `runner_app_${suffix}`
        const admin = adminPool()
        const asRole = (role: string) => {
          const url = new URL(databaseUrl!)
          url.username = role
          url.password = ''
          return url.toString()
        }
        await admin.query(`CREATE ROLE ${owner} LOGIN; CREATE ROLE ${app} LOGIN`)
        try {
          const refused = await rejectionOf(open({ connectionString: asRole(owner), schema }).countActive())
          expect(String(refused)).toMatch(/permission denied for database.*grant it CREATE on the database/)
          // The DBA makes the schema; its owner (no CREATE on the database) creates the tables.
          await admin.query(`CREATE SCHEMA "${schema}" AUTHORIZATION ${owner}`)
          const migrating = open({ connectionString: asRole(owner), schema })
          await migrating.countActive()
          await migrating.close()
          await admin.query(`
            GRANT USAGE ON SCHEMA "${schema}" TO ${app};
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "${schema}" TO ${app};
            GRANT USAGE ON ALL SEQUENCES IN SCHEMA "${schema}" TO ${app};`)
          const store = open({ connectionString: asRole(app), schema, migrate: false })
          const reader = store.watch({}, signal())[Symbol.asyncIterator]()
          await store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
          await store.append('a1', { status: 'running', message: 'Started' })
          await store.saveTrajectory('a1', trajectoryOf('a1'))
          await store.saveTrajectory('a1', trajectoryOf('a1'))
          expect((await take(reader, 2)).map(keyOf)).toEqual(['a1:Waiting', 'a1:Started'])
          // The run record, the job queue and the documents need no more than that.
          await store.recordToolCall('a1', {
            toolCallId: 'c1',
            toolName: 'send',
            input: {},
            output: 'ok',
            isError: false,
            attempt: 1,
          })
          await store.append('a1', {
            status: 'waiting',
            message: 'Waiting',
            pending: [{ id: 'c2', kind: 'approval' }],
            checkpoint: {
              state: {},
              runner: 'test',
              turn: 1,
              usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
              attempt: 1,
            },
          })
          await store.decide('a1', 'c2', { type: 'approve' })
          expect((await store.getRun('a1'))!.journal).toHaveLength(1)
          await store.jobQueue.push({ agentId: 'a1', job: {}, priority: 0, readyAt: 0 })
          expect(await store.jobQueue.claim('w', 1, 60_000)).toHaveLength(1)
          expect(await store.jobQueue.renew('w', ['a1'], 60_000)).toEqual([])
          expect(await store.jobQueue.remove('a1')).toBe(true)
          await store.documents.putMany('ns', [{ key: 'k', value: 1 }])
          expect(await store.documents.deletePrefix('ns', '')).toBe(1)
          expect((await store.list()).total).toBe(1)
          await store.close()
        } finally {
          for (const store of stores.splice(0)) await store.close()
          await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
          await admin.query(`DROP ROLE IF EXISTS ${app}; DROP ROLE IF EXISTS ${owner}`)
        }
      })
    })

    describe('transactions', () => {
      it('writes nothing when a transaction fails half-way, and the connection stays usable', async () => {
        const store = open({ connectionString: urlWithApplicationName(`runner-tx-${process.pid}`) })
        await store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
        // A trigger makes the log insert fail after the current row was written in the same transaction.
        await adminPool().query(`
        CREATE FUNCTION "${store.schema}".refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.message = 'boom' THEN RAISE EXCEPTION 'refused by the test'; END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER refuse_boom BEFORE INSERT ON "${store.schema}".activity_log
          FOR EACH ROW EXECUTE FUNCTION "${store.schema}".refuse_boom();`)
        const reader = store.watch({}, signal())[Symbol.asyncIterator]()
        const before = await store.get('a1')

        expect(
          String(await rejectionOf(store.create({ agentId: 'b1', agentType: 'test', message: 'boom' }))),
        ).toMatch(/refused by the test/)
        expect(await store.get('b1')).toBeUndefined()
        expect(String(await rejectionOf(store.append('a1', { status: 'running', message: 'boom' })))).toMatch(
          /refused by the test/,
        )
        expect(await store.get('a1')).toEqual(before)
        expect((await store.list()).total).toBe(1)

        // Later writes work, and watchers get them (a failed write leaves a gap in log ids: harmless).
        await store.append('a1', { status: 'running', message: 'Started' })
        await store.create({ agentId: 'c1', agentType: 'test', message: 'Waiting' })
        expect((await take(reader, 2)).map(keyOf)).toEqual(['a1:Started', 'c1:Waiting'])
        const { rows } = await adminPool().query(
          `SELECT count(*)::int AS count FROM pg_stat_activity WHERE application_name = $1 AND state LIKE 'idle in transaction%'`,
          [`runner-tx-${process.pid}`],
        )
        expect(rows[0].count, 'no connection is left inside a transaction').toBe(0)
      })

      it('serialises concurrent writers: no lost update, one winner for a final move or an id', async () => {
        const first = open()
        const second = open({ schema: first.schema })
        await first.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
        await second.append('a1', { status: 'running', message: 'Started' })
        await Promise.all(
          Array.from({ length: 40 }, (_, index) =>
            (index % 2 ? first : second).append('a1', { status: 'running', message: `m${index}` }),
          ),
        )
        const activity = (await first.get('a1'))!
        expect(activity.log).toHaveLength(42)
        expect(new Set(activity.log.map((entry) => entry.message)).size).toBe(42)
        const times = activity.log.map((entry) => entry.at)
        expect([...times].sort(), 'entry times never go backwards').toEqual(times)

        const finals = await Promise.allSettled(
          (['complete', 'error', 'canceled', 'complete'] as const).map((status, index) =>
            (index % 2 ? first : second).append('a1', { status, message: status }),
          ),
        )
        expect(finals.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1)
        for (const outcome of finals) {
          if (outcome.status === 'rejected')
            expect(ActivityTransitionError.isInstance(outcome.reason)).toBe(true)
        }
        expect((await first.get('a1'))!.log).toHaveLength(43)

        const creates = await Promise.allSettled(
          [first, second, first, second].map((store) =>
            store.create({ agentId: 'same', agentType: 'test', message: 'Waiting' }),
          ),
        )
        expect(creates.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1)
        for (const outcome of creates) {
          if (outcome.status === 'rejected') expect(InvalidOptionsError.isInstance(outcome.reason)).toBe(true)
        }
      })

      it('returns the whole log from append, also when it waited for a concurrent writer', async () => {
        const first = open()
        const stores = [first, open({ schema: first.schema }), open({ schema: first.schema })]
        await stores[0]!.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
        await stores[0]!.append('a1', { status: 'running', message: 'Started' })
        const results = await Promise.all(
          Array.from({ length: 30 }, (_, index) =>
            stores[index % stores.length]!.append('a1', { status: 'running', message: `m${index}` }),
          ),
        )
        const final = (await stores[0]!.get('a1'))!
        for (const result of results) {
          // What append returned is the log as it was right after that append: a prefix of the final log.
          expect(result.log, `the log returned with ${result.message}`).toEqual(
            final.log.slice(0, result.log.length),
          )
          expect(result.log.at(-1)!.message).toBe(result.message)
        }
        expect(new Set(results.map((result) => result.log.length)).size).toBe(30)
      })

      it('refuses text PostgreSQL cannot store in ids and metadata before its batch, and stores U+FFFD for it in messages and trajectories', async () => {
        const store = open()
        const fieldOf = async (promise: Promise<unknown>) => {
          const error = await rejectionOf(promise)
          expect(InvalidOptionsError.isInstance(error)).toBe(true)
          return (error as InvalidOptionsError).field
        }
        const outcome = (result: PromiseSettledResult<unknown>) =>
          result.status === 'rejected' ? Promise.reject(result.reason) : Promise.resolve(result.value)
        // Submitted in one tick: the refused creates never reach the batch, the others commit.
        const [bad, nul, surrogate, long, good] = await Promise.allSettled([
          store.create({ agentId: 'a\u0000', agentType: 'test', message: 'ok' }),
          store.create({
            agentId: 'b',
            agentType: 'test',
            message: 'ok',
            metadata: { nested: { 'k\u0000': 1 } },
          }),
          store.create({ agentId: 'c', agentType: 'test', message: 'ok', metadata: { tenant: 't\uD800' } }),
          store.create({
            agentId: 'd',
            agentType: 'test',
            message: 'ok',
            metadata: { note: 'x'.repeat(10_000) },
          }),
          store.create({ agentId: 'a1', agentType: 'test', message: 'a\u0000b' }),
        ])
        expect(await fieldOf(outcome(bad))).toBe('agentId')
        expect(await fieldOf(outcome(nul))).toBe('metadata.nested.k\\u0000')
        expect(await fieldOf(outcome(surrogate))).toBe('metadata.tenant')
        const tooLong = await rejectionOf(outcome(long))
        expect(ValueTooLargeError.isInstance(tooLong), 'a metadata value over the index limit').toBe(true)
        expect(good.status).toBe('fulfilled')
        await store.append('a1', { status: 'running', message: '\u0000' })
        const trajectory = trajectoryOf('a1')
        trajectory.steps[0]!.data = { text: 'x\u0000\uDC00' }
        await store.saveTrajectory('a1', trajectory)
        const { rows } = await adminPool().query(
          `SELECT a.message, t.trajectory #>> '{steps,0,data,text}' AS text, (SELECT count(*)::int FROM "${store.schema}".activities) AS count
           FROM "${store.schema}".activities a JOIN "${store.schema}".trajectories t USING (agent_id)`,
        )
        expect(rows, 'the columns hold U+FFFD; only the valid create was written').toEqual([
          { message: '\uFFFD', text: 'x\uFFFD\uFFFD', count: 1 },
        ])
        expect((await store.get('a1'))!.log.map((entry) => entry.message)).toEqual(['a\uFFFDb', '\uFFFD'])
        expect(await store.get('a1\u0000')).toBeUndefined()
      })
    })

    describe('group commit', () => {
      it('applies the calls of one batch in submission order, each with its own outcome', async () => {
        const store = open()
        await store.create({ agentId: 'old', agentType: 'test', message: 'Waiting' })
        // Submitted in one tick: one batch.
        const outcomes = await Promise.allSettled([
          store.create({ agentId: 'new', agentType: 'test', message: 'Waiting', metadata: { tenant: 't1' } }),
          store.append('new', { status: 'running', message: 'Started', percentage: 5 }),
          store.append('old', { status: 'canceled', message: 'Canceled' }),
          store.append('old', { status: 'running', message: 'Too late' }),
          store.create({ agentId: 'new', agentType: 'test', message: 'Again' }),
          store.append('missing', { status: 'running', message: 'Nobody' }),
          store.append('new', { status: 'running', message: 'Working', percentage: 50 }),
        ])
        expect(outcomes.map((outcome) => outcome.status)).toEqual([
          'fulfilled',
          'fulfilled',
          'fulfilled',
          'rejected',
          'rejected',
          'rejected',
          'fulfilled',
        ])
        const reasons = outcomes.map((outcome) =>
          outcome.status === 'rejected' ? outcome.reason : undefined,
        )
        expect(ActivityTransitionError.isInstance(reasons[3])).toBe(true)
        expect(InvalidOptionsError.isInstance(reasons[4])).toBe(true)
        expect((reasons[5] as Error).name).toBe('ActivityNotFoundError')
        const values = outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : undefined))
        expect(
          values[0]!.log.map((entry) => entry.message),
          'create returns the activity right after it',
        ).toEqual(['Waiting'])
        expect(values[1]!.log.map((entry) => entry.message)).toEqual(['Waiting', 'Started'])
        expect(values[6]).toEqual(await store.get('new'))
        expect(values[6]).toMatchObject({ status: 'running', percentage: 50, metadata: { tenant: 't1' } })
        expect(values[2]).toEqual(await store.get('old'))
        expect((await store.list({ status: 'running', metadata: { tenant: 't1' } })).items).toHaveLength(1)
      })

      it('sends one notification per batch, naming its last log row', async () => {
        const store = open()
        await store.countActive()
        const client = new pg.Client({ connectionString: databaseUrl! })
        await client.connect()
        try {
          const received: string[] = []
          client.on('notification', (message) => received.push(message.payload!))
          await client.query(`LISTEN "runner_activity_${store.schema}"`)
          await Promise.all(
            Array.from({ length: 10 }, (_, index) =>
              store.create({ agentId: `a${index}`, agentType: 'test', message: 'Waiting' }),
            ),
          )
          const { rows } = await adminPool().query(
            `SELECT agent_id AS "agentId", id::int AS id FROM "${store.schema}".activity_log ORDER BY id DESC LIMIT 1`,
          )
          await eventually(() => received.length > 0, 'the notification arrived')
          expect(received.map((payload) => JSON.parse(payload))).toEqual(rows)
        } finally {
          await client.end()
        }
      })
    })

    describe('watch', () => {
      it('delivers changes written by another store instance, each with the summary right after it', async () => {
        const watching = open()
        const writing = open({ schema: watching.schema })
        const reader = watching.watch({}, signal())[Symbol.asyncIterator]()
        await watchersStarted(watching)
        // Written back to back: the watcher reads several changes of one activity in one batch.
        const created = await writing.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
        const started = await writing.append('a1', { status: 'running', message: 'Started', percentage: 10 })
        const kept = await writing.append('a1', { status: 'running', message: 'Working' })
        const done = await writing.append('a1', { status: 'complete', message: 'Done', percentage: 100 })
        const events = await take(reader, 4)
        expect(events).toEqual(
          [created, started, kept, done].map((activity) => {
            const { log, ...summary } = activity
            return { agentId: 'a1', activity: summary, entry: log.at(-1) }
          }),
        )
      })

      it('filters in any mix of agentId and metadata, across store instances', async () => {
        const watching = open()
        const writing = open({ schema: watching.schema })
        const byTenant = watching.watch({ metadata: { tenant: 't1' } }, signal())[Symbol.asyncIterator]()
        const byId = watching.watch({ agentId: 'b' }, signal())[Symbol.asyncIterator]()
        const both = watching.watch({ agentId: 'a', metadata: { tier: 1 } }, signal())[Symbol.asyncIterator]()
        await watchersStarted(watching)
        await writing.create({
          agentId: 'a',
          agentType: 'test',
          message: 'a',
          metadata: { tenant: 't1', tier: 1 },
        })
        await writing.create({
          agentId: 'b',
          agentType: 'test',
          message: 'b',
          metadata: { tenant: 't2', tier: '1' },
        })
        await writing.create({ agentId: 'c', agentType: 'test', message: 'c', metadata: { tenant: 't1' } })
        await writing.append('b', { status: 'running', message: 'b runs' })
        await writing.append('a', { status: 'running', message: 'a runs' })
        expect((await take(byTenant, 3)).map(keyOf)).toEqual(['a:a', 'c:c', 'a:a runs'])
        expect((await take(byId, 2)).map(keyOf)).toEqual(['b:b', 'b:b runs'])
        expect((await take(both, 2)).map(keyOf)).toEqual(['a:a', 'a:a runs'])
      })

      it('notifies on its channel with a small payload: the agentId and the log id', async () => {
        const store = open()
        await store.countActive()
        const client = new pg.Client({ connectionString: databaseUrl! })
        await client.connect()
        try {
          const received = new Promise<pg.Notification>((resolve) => client.once('notification', resolve))
          await client.query(`LISTEN "runner_activity_${store.schema}"`)
          await store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
          const notification = await received
          const { rows } = await adminPool().query(`SELECT id::int AS id FROM "${store.schema}".activity_log`)
          expect(JSON.parse(notification.payload!)).toEqual({ agentId: 'a1', id: rows[0].id })
        } finally {
          await client.end()
        }
      })

      it('survives a lost LISTEN connection: reconnects and delivers what was written meanwhile, once', async () => {
        const applicationName = `runner-reconnect-${process.pid}`
        const errors: Error[] = []
        const watching = open({
          connectionString: urlWithApplicationName(applicationName),
          onError: (error) => errors.push(error),
        })
        const writing = open({ schema: watching.schema })
        const reader = watching.watch({}, signal())[Symbol.asyncIterator]()
        await watchersStarted(watching)
        await writing.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
        expect((await take(reader, 1)).map(keyOf)).toEqual(['a1:Waiting'])

        // What a server restart or a failover does to the watcher's connections.
        await adminPool().query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
          [applicationName],
        )
        await eventually(
          () => errors.some((error) => /lost its LISTEN connection/.test(error.message)),
          'the loss is reported',
        )
        for (let index = 0; index < 5; index++) {
          await writing.append('a1', { status: 'running', message: `while away ${index}` })
        }
        const caughtUp = await take(reader, 5)
        expect(caughtUp.map(keyOf)).toEqual(Array.from({ length: 5 }, (_, index) => `a1:while away ${index}`))
        await writing.append('a1', { status: 'complete', message: 'Done' })
        expect((await take(reader, 1)).map(keyOf)).toEqual(['a1:Done'])
        const lost = errors.find((error) => /lost its LISTEN connection/.test(error.message))
        expect(RunnerError.isInstance(lost)).toBe(true)
        // The store's own calls work again too (the pool replaces dropped connections).
        expect((await watching.get('a1'))!.status).toBe('complete')
      })

      it('keeps retrying while PostgreSQL is unreachable, then delivers what was written meanwhile', async () => {
        const target = new URL(databaseUrl!)
        const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
        await proxy.start()
        try {
          const errors: Error[] = []
          const watching = open({
            connectionString: proxy.url(databaseUrl!),
            onError: (error) => errors.push(error),
          })
          const writing = open({ schema: watching.schema })
          const reader = watching.watch({}, signal())[Symbol.asyncIterator]()
          await watchersStarted(watching)
          await writing.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
          expect((await take(reader, 1)).map(keyOf)).toEqual(['a1:Waiting'])

          await proxy.stop()
          for (let index = 0; index < 3; index++) {
            await writing.append('a1', { status: 'running', message: `during the outage ${index}` })
          }
          const failedAttempts = () =>
            errors.filter((error) => /cannot open its LISTEN connection/.test(error.message))
          await eventually(() => failedAttempts().length >= 2, 'reconnection attempts fail')
          expect(errors.some((error) => /lost its LISTEN connection/.test(error.message))).toBe(true)
          expect(String(await rejectionOf(watching.get('a1'))), 'calls fail while it is down').toMatch(
            /ECONNREFUSED|connect/,
          )

          await proxy.start()
          expect((await take(reader, 3, 20_000)).map(keyOf)).toEqual(
            Array.from({ length: 3 }, (_, index) => `a1:during the outage ${index}`),
          )
          await writing.append('a1', { status: 'complete', message: 'Done' })
          expect((await take(reader, 1)).map(keyOf)).toEqual(['a1:Done'])
          expect((await watching.get('a1'))!.status).toBe('complete')
        } finally {
          await proxy.stop()
        }
      })

      it('goes on, and says so, when a failover loses log rows it had delivered', async () => {
        const applicationName = `runner-failover-${process.pid}`
        const errors: Error[] = []
        const watching = open({
          connectionString: urlWithApplicationName(applicationName),
          onError: (error) => errors.push(error),
        })
        const writing = open({ schema: watching.schema })
        const reader = watching.watch({}, signal())[Symbol.asyncIterator]()
        await watchersStarted(watching)
        await writing.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
        for (let index = 0; index < 3; index++)
          await writing.append('a1', { status: 'running', message: `m${index}` })
        await take(reader, 4)
        // What a promoted replica that missed the last commits looks like: the log and its sequence end earlier.
        const log = `"${watching.schema}".activity_log`
        await adminPool().query(
          `WITH kept AS (SELECT id FROM ${log} ORDER BY id LIMIT 2)
         DELETE FROM ${log} WHERE id > (SELECT max(id) FROM kept)`,
        )
        await adminPool().query(
          `SELECT setval(pg_get_serial_sequence('${log}', 'id'), (SELECT max(id) FROM ${log}))`,
        )
        await adminPool().query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
          [applicationName],
        )
        await eventually(
          () => errors.some((error) => /the activity log now ends at id/.test(error.message)),
          'reported',
        )
        await writing.append('a1', { status: 'running', message: 'after the failover' })
        expect((await take(reader, 1)).map(keyOf)).toEqual(['a1:after the failover'])
      })

      it('opens one LISTEN connection per store, shared, and releases it when the last watcher ends', async () => {
        const pool = new pg.Pool({ connectionString: databaseUrl!, max: 4 })
        pools.push(pool)
        const store = open({ pool })
        await store.countActive()
        const busy = () => pool.totalCount - pool.idleCount
        expect(busy()).toBe(0)
        const first = new AbortController()
        const second = new AbortController()
        const readers = [store.watch({}, first.signal), store.watch({ agentId: 'a1' }, second.signal)].map(
          (iterable) => iterable[Symbol.asyncIterator](),
        )
        await store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
        for (const reader of readers) expect((await take(reader, 1)).map(keyOf)).toEqual(['a1:Waiting'])
        expect(busy(), 'one connection held for both watchers').toBe(1)
        first.abort()
        expect(busy()).toBe(1)
        second.abort()
        await eventually(() => busy() === 0, 'the LISTEN connection is released')
      })

      it('refuses to watch with a pool of one connection, which the LISTEN would exhaust', async () => {
        const store = open({ poolConfig: { max: 1 } })
        expect(() => store.watch({}, signal())).toThrow(/at least 2 connections/)
        expect(await store.countActive()).toBe(0)
      })
    })

    describe('close', () => {
      it('leaves a pool passed in open, and ends watchers', async () => {
        const pool = new pg.Pool({ connectionString: databaseUrl!, max: 2 })
        pools.push(pool)
        const store = open({ pool })
        const reader = store.watch({}, signal())[Symbol.asyncIterator]()
        await store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
        await take(reader, 1)
        await store.close()
        expect(await reader.next()).toEqual({ done: true, value: undefined })
        expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
        await eventually(() => pool.totalCount === pool.idleCount, 'every connection is back in the pool')
      })

      it('ends the pool it created, and refuses every later call with a RunnerError', async () => {
        const applicationName = `runner-close-${process.pid}`
        const store = open({ connectionString: urlWithApplicationName(applicationName) })
        store.watch({}, signal())
        await store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
        await store.close()
        const connections = async () =>
          (
            await adminPool().query(
              'SELECT count(*)::int AS count FROM pg_stat_activity WHERE application_name = $1',
              [applicationName],
            )
          ).rows[0].count as number
        await eventually(async () => (await connections()) === 0, 'the store has no connection left')
        for (const call of [
          () => store.get('a1'),
          () => store.list(),
          () => store.countActive(),
          () => store.getTrajectory('a1'),
          () => store.append('a1', { status: 'running', message: 'x' }),
          () => store.getRun('a1'),
          () =>
            store.recordToolCall('a1', {
              toolCallId: 'c',
              toolName: 't',
              input: 1,
              output: 1,
              isError: false,
              attempt: 1,
            }),
          () => store.decide('a1', 'c', { type: 'deny' }),
          () => store.jobQueue.claim('w', 1, 1000),
          () => store.documents.get('ns', 'k'),
        ]) {
          const error = await rejectionOf(call())
          expect(RunnerError.isInstance(error)).toBe(true)
          expect((error as Error).message).toMatch(
            /PostgresActivityStore \(schema "runner_store_.*"\) is closed/,
          )
        }
        expect(() => store.watch({}, signal())).toThrow(/closed/)
      })
    })
  },
)

function trajectoryOf(agentId: string): Trajectory {
  return {
    agentId,
    agentType: 'test',
    status: 'complete',
    startedAt: '2025-01-01T00:00:00.000Z',
    finishedAt: '2025-01-01T00:00:01.000Z',
    usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3 },
    steps: [
      { index: 0, kind: 'note', attempt: 1, turn: 0, at: '2025-01-01T00:00:00.500Z', data: { note: 'hi' } },
    ],
  }
}
