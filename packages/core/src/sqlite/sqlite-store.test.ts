import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { canTransition } from '../activity/transitions.js'
import type { Activity, ActivityEvent, ActivityStatus } from '../activity/types.js'
import { ActivityTransitionError } from '../errors/activity-transition-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { RunnerError } from '../errors/runner-error.js'
import { EventReader } from '../test/event-reader.js'
import { rejectionOf } from '../test/rejection-of.js'
import { SqliteActivityStore } from './index.js'
import { createSchemaV1, type EntryV1, writeActivityV1 } from './test-helpers/schema-v1.js'
import { createSchemaV2, type EntryV2, writeActivityV2 } from './test-helpers/schema-v2.js'
import { useTempDatabases } from './test-helpers/temp-database.js'

const { tempDatabase, open, raw } = useTempDatabases()

afterEach(() => {
  vi.restoreAllMocks()
})

// The ActivityStore contract runs from @runner/testkit (src/stores/sqlite-store.conformance.test.ts).

describe('SqliteActivityStore', () => {
  describe('opening', () => {
    it('accepts a plain path, and :memory:', async () => {
      const file = tempDatabase()
      const store = open(file)
      await store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
      expect(fs.existsSync(file)).toBe(true)
      const memory = open(':memory:')
      await memory.create({ agentId: 'm1', agentType: 'test', message: 'Waiting' })
      expect((await memory.list()).items.map((item) => item.agentId)).toEqual(['m1'])
      expect(await memory.get('a1')).toBeUndefined()
    })

    it('turns on WAL and records the schema version', async () => {
      const file = tempDatabase()
      open({ path: file })
      const db = raw(file)
      try {
        expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' })
        expect(db.prepare('PRAGMA user_version').get()).toEqual({
          user_version: SqliteActivityStore.schemaVersion,
        })
        const tables = db
          .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
          )
          .all()
          .map((row) => row.name)
        expect(tables).toEqual([
          'activities',
          'activity_counts',
          'activity_log',
          'activity_metadata',
          'documents',
          'job_queue',
          'job_queue_groups',
          'run_journal',
          'run_records',
          'run_results',
          'trajectories',
        ])
      } finally {
        db.close()
      }
    })

    it('refuses invalid options, naming the field', () => {
      for (const [field, options] of [
        ['path', { path: '' }],
        ['busyTimeoutMs', { path: ':memory:', busyTimeoutMs: -1 }],
        ['watchIntervalMs', { path: ':memory:', watchIntervalMs: 0 }],
        ['maxRecordBytes', { path: ':memory:', maxRecordBytes: 10 }],
        ['maxRecordBytes', { path: ':memory:', maxRecordBytes: 1024.5 }],
        ['synchronous', { path: ':memory:', synchronous: 'off' as 'full' }],
      ] as const) {
        let error: unknown
        try {
          new SqliteActivityStore(options)
        } catch (caught) {
          error = caught
        }
        expect(InvalidOptionsError.isInstance(error)).toBe(true)
        expect((error as InvalidOptionsError).field).toBe(field)
      }
    })

    it('writes with synchronous: full as with the default', async () => {
      const file = tempDatabase()
      const store = open({ path: file, synchronous: 'full' })
      await Promise.all(
        ['a1', 'a2', 'a3'].map((agentId) => store.create({ agentId, agentType: 'test', message: 'Waiting' })),
      )
      expect((await store.append('a2', { status: 'running', message: 'Started' })).status).toBe('running')
      expect((await store.list()).total).toBe(3)
    })

    it('explains a path it cannot open', () => {
      const file = path.join(tempDatabase(), 'no-such-directory', 'activities.db')
      expect(() => new SqliteActivityStore(file)).toThrow(
        expect.objectContaining({
          name: 'SqliteStoreError',
          reason: 'cannot-open',
          path: file,
          message: expect.stringContaining(file),
        }),
      )
    })

    it('refuses a database written by a newer schema version', () => {
      const file = tempDatabase()
      const db = raw(file)
      db.exec('PRAGMA user_version = 99')
      db.close()
      const error = (() => {
        try {
          new SqliteActivityStore(file)
        } catch (caught) {
          return caught
        }
      })()
      expect(RunnerError.isInstance(error)).toBe(true)
      expect((error as Error).message).toMatch(/schema version 99.*Upgrade @runner\/core/)
    })
  })

  describe('upgrading a version-1 database (written before log entries had attempt and kind)', () => {
    const doneLog: EntryV1[] = [
      { status: 'queued', message: 'Waiting to start', percentage: 0, at: '2025-03-01T10:00:00.000Z' },
      { status: 'running', message: 'Started', percentage: null, at: '2025-03-01T10:00:01.000Z' },
      { status: 'running', message: 'Retry 1/2: overloaded', percentage: 10, at: '2025-03-01T10:00:02.000Z' },
      { status: 'complete', message: 'Complete', percentage: 100, at: '2025-03-01T10:00:03.000Z' },
    ]
    const workingLog: EntryV1[] = [
      { status: 'queued', message: 'Waiting to start', percentage: 0, at: '2025-03-01T11:00:00.000Z' },
      { status: 'running', message: 'Started', percentage: null, at: '2025-03-01T11:00:01.000Z' },
      { status: 'running', message: 'Searching', percentage: 40, at: '2025-03-01T11:00:02.000Z' },
    ]
    const trajectory = {
      agentId: 'done',
      agentType: 'research',
      status: 'complete' as const,
      startedAt: '2025-03-01T10:00:01.000Z',
      finishedAt: '2025-03-01T10:00:03.000Z',
      usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7 },
      steps: [],
    }

    /** A file as a version-1 store left it: two activities (one finished, one running) and a trajectory. */
    function versionOneFile(): string {
      const file = tempDatabase()
      const db = raw(file)
      try {
        createSchemaV1(db)
        db.exec('BEGIN IMMEDIATE')
        writeActivityV1(db, {
          agentId: 'done',
          agentType: 'research',
          metadata: { tenant: 't1' },
          log: doneLog,
        })
        writeActivityV1(db, { agentId: 'working', agentType: 'research', metadata: {}, log: workingLog })
        db.prepare('INSERT INTO trajectories (agent_id, json) VALUES (?, ?)').run(
          'done',
          JSON.stringify(trajectory),
        )
        db.exec('COMMIT')
      } finally {
        db.close()
      }
      return file
    }

    it('keeps every old entry, read back without attempt or kind', async () => {
      const store = open(versionOneFile())
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
      expect(await store.getTrajectory('done', { metadata: { tenant: 't1' } })).toEqual(trajectory)
    })

    it('accepts new entries with attempt and kind next to the old ones, in get, append and watch, across reopening', async () => {
      const file = versionOneFile()
      const store = open({ path: file, watchIntervalMs: 20 })
      const other = open(file)
      const controller = new AbortController()
      const local = new EventReader<ActivityEvent>(store.watch({}, controller.signal))
      const retried = await store.append('working', {
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
      expect((await local.next()).entry, 'a local watcher gets the new fields').toStrictEqual(retryEntry)
      // Written through another connection: the watcher reads it from the file.
      const done = await other.append('working', {
        status: 'complete',
        message: 'Complete',
        percentage: 100,
        attempt: 2,
        kind: 'lifecycle',
      })
      const doneEntry = done.log.at(-1)
      expect(doneEntry).toStrictEqual({
        status: 'complete',
        message: 'Complete',
        percentage: 100,
        at: done.updatedAt,
        attempt: 2,
        kind: 'lifecycle',
      })
      expect(
        (await local.next()).entry,
        'a watcher gets the fields of another connection’s write',
      ).toStrictEqual(doneEntry)
      const created = await store.create({
        agentId: 'new',
        agentType: 'research',
        message: 'Waiting to start',
      })
      expect(created.log[0]).toStrictEqual({
        status: 'queued',
        message: 'Waiting to start',
        percentage: 0,
        at: created.createdAt,
        kind: 'lifecycle',
      })
      controller.abort()
      await store.close()
      await other.close()

      const reopened = open(file)
      expect((await reopened.get('working'))!.log).toStrictEqual([...workingLog, retryEntry, doneEntry])
      expect((await reopened.get('done'))!.log).toStrictEqual(doneLog)
      expect((await reopened.get('new'))!.log).toStrictEqual(created.log)
    })

    it('records the current version, and ends with the same schema as a new file', async () => {
      const file = versionOneFile()
      const upgraded = open(file)
      await upgraded.close()
      const db = raw(file)
      try {
        expect(db.prepare('PRAGMA user_version').get()).toEqual({
          user_version: SqliteActivityStore.schemaVersion,
        })
        expect(db.prepare('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }])
      } finally {
        db.close()
      }
      const fresh = tempDatabase()
      await open(fresh).close()
      expect(schemaOf(file)).toEqual(schemaOf(fresh))
    })

    it('refuses an invalid attempt or kind in the database itself, not only in the store', () => {
      const file = versionOneFile()
      open(file)
      const db = raw(file)
      try {
        const insert = db.prepare(
          "INSERT INTO activity_log (agent_id, status, message, percentage, at, attempt, kind) VALUES ('done', 'complete', 'x', NULL, '2025-03-01T12:00:00.000Z', ?, ?)",
        )
        expect(() => insert.run(0, null)).toThrow(/CHECK constraint failed/)
        expect(() => insert.run(null, 'retrying')).toThrow(/CHECK constraint failed/)
      } finally {
        db.close()
      }
    })
  })

  describe('upgrading a version-2 database (written before the waiting status and durable runs)', () => {
    const doneLog: EntryV2[] = [
      {
        status: 'queued',
        message: 'Waiting to start',
        percentage: 0,
        at: '2025-06-01T10:00:00.000Z',
        kind: 'lifecycle',
      },
      {
        status: 'running',
        message: 'Started',
        percentage: null,
        at: '2025-06-01T10:00:01.000Z',
        attempt: 1,
        kind: 'lifecycle',
      },
      {
        status: 'running',
        message: 'Retry 1/2: overloaded',
        percentage: 10,
        at: '2025-06-01T10:00:02.000Z',
        attempt: 2,
        kind: 'retry',
      },
      {
        status: 'complete',
        message: 'Complete',
        percentage: 100,
        at: '2025-06-01T10:00:03.000Z',
        attempt: 2,
        kind: 'lifecycle',
      },
    ]
    const workingLog: EntryV2[] = [
      {
        status: 'queued',
        message: 'Waiting to start',
        percentage: 0,
        at: '2025-06-01T11:00:00.000Z',
        kind: 'lifecycle',
      },
      {
        status: 'running',
        message: 'Started',
        percentage: null,
        at: '2025-06-01T11:00:01.000Z',
        attempt: 1,
        kind: 'lifecycle',
      },
      {
        status: 'running',
        message: 'Searching',
        percentage: 40,
        at: '2025-06-01T11:00:02.000Z',
        kind: 'progress',
      },
    ]
    const queuedLog: EntryV2[] = [
      {
        status: 'queued',
        message: 'Waiting to start',
        percentage: 0,
        at: '2025-06-01T12:00:00.000Z',
        kind: 'lifecycle',
      },
    ]
    const trajectory = {
      agentId: 'done',
      agentType: 'research',
      status: 'complete' as const,
      startedAt: '2025-06-01T10:00:01.000Z',
      finishedAt: '2025-06-01T10:00:03.000Z',
      usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7 },
      steps: [],
    }

    /** What a user added to a version-2 file: an index and a trigger on activities, and a table. */
    const USER_ADDITIONS_SQL = `
      CREATE INDEX my_agent_type ON activities (agent_type);
      CREATE TABLE my_audit (agent_id TEXT, status TEXT);
      CREATE TRIGGER my_audit_status AFTER UPDATE OF status ON activities
      BEGIN INSERT INTO my_audit VALUES (NEW.agent_id, NEW.status); END;
    `

    /**
     * A file as a version-2 store left it: a finished, a running and a queued activity, a trajectory,
     * an activity deleted by hand (its sequence number is never reused), an index and a trigger the
     * user added to the activities table, and data only: no connection open.
     */
    function versionTwoFile(): string {
      const file = tempDatabase()
      const db = raw(file)
      try {
        createSchemaV2(db)
        db.exec('BEGIN IMMEDIATE')
        writeActivityV2(db, {
          agentId: 'done',
          agentType: 'research',
          metadata: { tenant: 't1' },
          log: doneLog,
        })
        writeActivityV2(db, {
          agentId: 'working',
          agentType: 'research',
          metadata: { tenant: 't2' },
          log: workingLog,
        })
        writeActivityV2(db, { agentId: 'queued', agentType: 'support', metadata: {}, log: queuedLog })
        writeActivityV2(db, { agentId: 'deleted', agentType: 'support', metadata: {}, log: queuedLog })
        db.exec("DELETE FROM activities WHERE agent_id = 'deleted'")
        db.prepare('INSERT INTO trajectories (agent_id, json) VALUES (?, ?)').run(
          'done',
          JSON.stringify(trajectory),
        )
        db.exec(USER_ADDITIONS_SQL)
        db.exec('COMMIT')
      } finally {
        db.close()
      }
      return file
    }

    it('keeps every activity, entry, trajectory and sequence number', async () => {
      const file = versionTwoFile()
      const store = open(file)
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
      expect((await store.get('working'))!.log, 'entries keep their attempt and kind').toStrictEqual(
        workingLog,
      )
      expect((await store.get('queued'))!.log).toStrictEqual(queuedLog)
      expect(await store.getTrajectory('done', { metadata: { tenant: 't1' } })).toEqual(trajectory)
      expect((await store.list()).items.map((item) => item.agentId)).toEqual(['queued', 'working', 'done'])
      expect(await store.countActive()).toBe(2)
      expect(await store.getRun('working'), 'an old run has an empty record').toStrictEqual({
        agentId: 'working',
        status: 'running',
        journal: [],
      })
      await store.create({ agentId: 'new', agentType: 'support', message: 'Waiting to start' })
      const db = raw(file)
      const seqs = Object.fromEntries(
        db
          .prepare('SELECT agent_id, seq FROM activities')
          .all()
          .map((row) => [row.agent_id, row.seq]),
      )
      expect(seqs, 'rows keep their sequence numbers; a new one comes after the deleted one').toEqual({
        done: 1,
        working: 2,
        queued: 3,
        new: 5,
      })
    })

    it('accepts the waiting status afterwards, in the store and in the table itself', async () => {
      const file = versionTwoFile()
      const store = open(file)
      await store.append('working', {
        status: 'waiting',
        message: 'Waiting for approval',
        pending: [{ id: 'call-1', kind: 'approval', toolName: 'send' }],
        checkpoint: {
          state: { messages: ['hi'] },
          runner: 'test',
          turn: 1,
          usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
          attempt: 1,
        },
      })
      expect((await store.getRun('working'))!).toMatchObject({
        status: 'waiting',
        pending: [{ id: 'call-1', kind: 'approval', toolName: 'send' }],
        checkpoint: { turn: 1 },
      })
      expect(await store.countActive(), 'a waiting run counts as active').toBe(2)
      await store.append('queued', { status: 'canceled', message: 'Canceled' })
      expect(
        (await store.list()).items.map((item) => item.agentId),
        'the waiting run is listed with the active ones',
      ).toEqual(['working', 'queued', 'done'])
      expect((await store.list({ status: 'waiting' })).items.map((item) => item.agentId)).toEqual(['working'])
      const db = raw(file)
      const insert = db.prepare(
        `INSERT INTO activities (agent_id, agent_type, status, message, percentage, created_at, updated_at)
         VALUES (?, 'x', ?, 'x', 0, '2025-06-02T00:00:00.000Z', '2025-06-02T00:00:00.000Z')`,
      )
      insert.run('raw-waiting', 'waiting')
      expect(
        () => insert.run('raw-bogus', 'paused'),
        'the status constraint still refuses unknown statuses',
      ).toThrow(/CHECK constraint failed/)
    })

    it('keeps the indexes, rebuilds the list-order index with waiting, and keeps what the user added', async () => {
      const file = versionTwoFile()
      await open(file).close()
      const db = raw(file)
      const indexes = db
        .prepare(
          "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'activities' AND sql IS NOT NULL ORDER BY name",
        )
        .all()
      expect(indexes.map((index) => index.name)).toEqual([
        'activities_list_key',
        'activities_status_seq',
        'my_agent_type',
      ])
      expect(indexes[0]!.sql).toContain("status IN ('queued', 'running', 'waiting')")
      const plan = db
        .prepare(
          `EXPLAIN QUERY PLAN SELECT agent_id FROM activities
           ORDER BY ((status IN ('queued', 'running', 'waiting')) * 4503599627370496 + seq) DESC LIMIT 10`,
        )
        .all()
        .map((row) => row.detail)
      expect(plan.join(' | '), 'a list page reads the list-order index, not the whole table').toMatch(
        /USING INDEX activities_list_key/,
      )
      db.exec("UPDATE activities SET status = 'error' WHERE agent_id = 'queued'")
      expect(db.prepare('SELECT * FROM my_audit').all(), 'the user’s trigger still fires').toEqual([
        { agent_id: 'queued', status: 'error' },
      ])
    })

    it('records the current version, and ends with the same schema as a new file', async () => {
      const file = versionTwoFile()
      await open(file).close()
      const db = raw(file)
      expect(db.prepare('PRAGMA user_version').get()).toEqual({
        user_version: SqliteActivityStore.schemaVersion,
      })
      expect(db.prepare('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }])
      expect(db.prepare('PRAGMA foreign_key_check').all()).toEqual([])
      db.close()
      const fresh = tempDatabase()
      const freshDb = raw(fresh)
      createSchemaV2(freshDb)
      freshDb.exec(USER_ADDITIONS_SQL)
      freshDb.close()
      await open(fresh).close()
      const brandNew = tempDatabase()
      await open(brandNew).close()
      const ours = (file: string) =>
        schemaOf(file).filter((row) => !String((row as { name: string }).name).startsWith('my_'))
      expect(ours(file), 'an upgraded file has the schema of a new file').toEqual(ours(brandNew))
      expect(schemaOf(file)).toEqual(schemaOf(fresh))
    })

    it('changes nothing when the upgrade fails half way, and says why', async () => {
      const file = versionTwoFile()
      const db = raw(file)
      // A table in the way of the upgrade: its CREATE TABLE fails after the rebuild of activities.
      db.exec('CREATE TABLE job_queue (anything TEXT)')
      const count = () =>
        db
          .prepare(
            'SELECT (SELECT count(*) FROM activities) AS activities, (SELECT count(*) FROM activity_log) AS log',
          )
          .get()
      const rows = count()
      expect(rows).toEqual({ activities: 3, log: 8 })
      const before = schemaOf(file)
      let error: unknown
      try {
        new SqliteActivityStore(file)
      } catch (caught) {
        error = caught
      }
      expect(RunnerError.isInstance(error)).toBe(true)
      expect((error as Error).message).toMatch(/job_queue already exists/)
      expect(schemaOf(file), 'the failed upgrade was rolled back whole').toEqual(before)
      expect(db.prepare('PRAGMA user_version').get()).toEqual({ user_version: 2 })
      expect(count(), 'every row is still there').toEqual(rows)
    })
  })

  it('keeps everything across close and reopen, and numbers new activities after the old ones', async () => {
    const file = tempDatabase()
    const first = new SqliteActivityStore(file)
    await first.create({
      agentId: 'a1',
      agentType: 'research',
      message: 'Waiting',
      metadata: { tenant: 't1' },
    })
    await first.append('a1', { status: 'running', message: 'Started', percentage: 10 })
    await first.append('a1', { status: 'complete', message: 'Complete', percentage: 100 })
    await first.create({ agentId: 'a2', agentType: 'research', message: 'Waiting' })
    const trajectory = {
      agentId: 'a1',
      agentType: 'research',
      status: 'complete' as const,
      startedAt: '2025-01-01T00:00:00.000Z',
      finishedAt: '2025-01-01T00:00:02.000Z',
      usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7 },
      steps: [],
    }
    await first.saveTrajectory('a1', trajectory)
    const before = { a1: await first.get('a1'), a2: await first.get('a2'), list: await first.list() }
    await first.close()

    const second = open(file)
    expect(await second.get('a1')).toEqual(before.a1)
    expect(await second.get('a2')).toEqual(before.a2)
    expect(await second.list()).toEqual(before.list)
    expect(await second.getTrajectory('a1', { metadata: { tenant: 't1' } })).toEqual(trajectory)
    await expect(second.append('a1', { status: 'running', message: 'again' })).rejects.toSatisfy(
      ActivityTransitionError.isInstance,
    )
    await second.create({ agentId: 'a3', agentType: 'research', message: 'Waiting' })
    await second.append('a2', { status: 'canceled', message: 'Canceled' })
    await second.append('a3', { status: 'canceled', message: 'Canceled' })
    expect((await second.list()).items.map((item) => item.agentId)).toEqual(['a3', 'a2', 'a1'])
  })

  it('refuses every call after close with a RunnerError', async () => {
    const store = open(tempDatabase())
    await store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
    await store.close()
    for (const call of [
      () => store.get('a1'),
      () => store.list(),
      () => store.countActive(),
      () => store.getTrajectory('a1'),
    ]) {
      await expect(call()).rejects.toSatisfy(
        (error: unknown) => RunnerError.isInstance(error) && /closed/.test((error as Error).message),
      )
    }
    expect(() => store.watch({}, new AbortController().signal)).toThrow(/closed/)
  })

  it('rolls back the log row when the current row cannot be written', async () => {
    const file = tempDatabase()
    const store = open(file)
    const created = await store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
    const db = raw(file)
    db.exec(`CREATE TRIGGER fail_update BEFORE UPDATE ON activities WHEN NEW.message = 'boom'
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END`)
    db.close()
    await expect(store.append('a1', { status: 'running', message: 'boom' })).rejects.toThrow(
      /injected failure/,
    )
    expect(await store.get('a1')).toEqual(created)
    const next = await store.append('a1', { status: 'running', message: 'Started' })
    expect(next.log.map((entry) => entry.message)).toEqual(['Waiting', 'Started'])
  })

  it('waits busyTimeoutMs for a lock held elsewhere, then fails with a RunnerError and writes nothing', async () => {
    const file = tempDatabase()
    const store = open({ path: file, busyTimeoutMs: 50 })
    const created = await store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
    const db = raw(file)
    db.exec('BEGIN IMMEDIATE')
    try {
      const error = await rejectionOf(store.append('a1', { status: 'running', message: 'Started' }))
      expect(RunnerError.isInstance(error)).toBe(true)
      expect((error as Error).message).toContain('busyTimeoutMs (50 ms)')
    } finally {
      db.exec('ROLLBACK')
      db.close()
    }
    expect(await store.get('a1')).toEqual(created)
    expect((await store.append('a1', { status: 'running', message: 'Started' })).status).toBe('running')
  })

  describe('two stores on one file', () => {
    it('see each other’s writes, and validate moves against the stored status', async () => {
      const file = tempDatabase()
      const first = open(file)
      const second = open(file)
      await first.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
      expect((await second.get('a1'))?.status).toBe('queued')
      await second.append('a1', { status: 'running', message: 'Started' })
      await first.append('a1', { status: 'complete', message: 'Complete', percentage: 100 })
      const error = await rejectionOf(second.append('a1', { status: 'running', message: 'Late' }))
      expect(ActivityTransitionError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({ from: 'complete', to: 'running' })
      expect(await second.get('a1')).toEqual(await first.get('a1'))
      expect(await second.countActive()).toBe(0)
      expect((await second.list()).total).toBe(1)
    })

    it('watch on one receives the other’s changes and its own, in log order, once each', async () => {
      const file = tempDatabase()
      const watched = open({ path: file, watchIntervalMs: 20 })
      const other = open(file)
      const controller = new AbortController()
      const reader = new EventReader<ActivityEvent>(watched.watch({}, controller.signal))
      await other.create({ agentId: 'remote', agentType: 'test', message: 'Remote waiting' })
      await watched.create({ agentId: 'local', agentType: 'test', message: 'Local waiting' })
      await other.append('remote', {
        status: 'running',
        message: 'Remote started',
        percentage: 5,
        attempt: 1,
        kind: 'lifecycle',
      })
      await other.append('local', { status: 'running', message: 'Local started by the other' })
      const events = await reader.take(4)
      expect(events.map((event) => [event.agentId, event.entry.message])).toEqual([
        ['remote', 'Remote waiting'],
        ['local', 'Local waiting'],
        ['remote', 'Remote started'],
        ['local', 'Local started by the other'],
      ])
      expect(events[2]!.entry).toStrictEqual((await other.get('remote'))!.log[1])
      expect(events[2]!.entry).toMatchObject({ attempt: 1, kind: 'lifecycle' })
      expect(Object.hasOwn(events[3]!.entry, 'kind'), 'an entry written without a kind has none').toBe(false)
      expect(events[3]!.activity).toMatchObject({ agentId: 'local', status: 'running' })
      await reader.expectNone(120)

      const filtered = new EventReader<ActivityEvent>(watched.watch({ agentId: 'remote' }, controller.signal))
      await other.append('local', { status: 'complete', message: 'Local done' })
      await other.append('remote', { status: 'complete', message: 'Remote done', percentage: 100 })
      expect((await filtered.next()).entry).toMatchObject({ status: 'complete', message: 'Remote done' })
      expect((await reader.take(2)).map((event) => event.entry.message)).toEqual([
        'Local done',
        'Remote done',
      ])
      controller.abort()
      await reader.expectEnd()
    })

    it('checks for changes only while a watcher exists, and stops on close', async () => {
      const setIntervalSpy = vi.spyOn(globalThis, 'setInterval')
      const clearIntervalSpy = vi.spyOn(globalThis, 'clearInterval')
      const store = open(tempDatabase())
      expect(setIntervalSpy).not.toHaveBeenCalled()

      const first = new AbortController()
      const second = new AbortController()
      store.watch({}, first.signal)
      const reader = new EventReader(store.watch({}, second.signal))
      expect(setIntervalSpy).toHaveBeenCalledTimes(1)
      const timer = setIntervalSpy.mock.results[0]!.value
      first.abort()
      expect(clearIntervalSpy).not.toHaveBeenCalledWith(timer)
      await store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
      await reader.next()
      await reader.return()
      expect(clearIntervalSpy).toHaveBeenCalledWith(timer)

      const third = new AbortController()
      store.watch({}, third.signal)
      expect(setIntervalSpy).toHaveBeenCalledTimes(2)
      const secondTimer = setIntervalSpy.mock.results[1]!.value
      await store.close()
      expect(clearIntervalSpy).toHaveBeenCalledWith(secondTimer)
      third.abort()
    })
  })

  it('stays consistent after a writing process is killed with SIGKILL mid-writes', async () => {
    const file = tempDatabase()
    const watcher = open({ path: file, watchIntervalMs: 20 })
    const controller = new AbortController()
    const reader = new EventReader<ActivityEvent>(watcher.watch({}, controller.signal))
    const fixture = fileURLToPath(new URL('./test-helpers/write-loop.ts', import.meta.url))
    const child = spawn(process.execPath, [fixture, file], { stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.once('exit', (code, signal) => resolve(signal ?? code)),
    )
    let stderr = ''
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk)
    })
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`The writer did not start in time. stderr: ${stderr}`)),
          10_000,
        )
        child.stdout.on('data', (chunk) => {
          if (String(chunk).includes('ready')) {
            clearTimeout(timer)
            resolve()
          }
        })
        child.once('exit', (code) => {
          clearTimeout(timer)
          reject(new Error(`The writer exited early (${code}). stderr: ${stderr}`))
        })
      })
      // Another process's commits reach this process's watcher.
      const events = await reader.take(10, 5000)
      expect(events.every((event) => event.agentId.startsWith('child-'))).toBe(true)
      expect(events[0]!.entry.status).toBe('queued')
      await new Promise((resolve) => setTimeout(resolve, 30))
    } finally {
      child.kill('SIGKILL')
    }
    expect(await exited).toBe('SIGKILL')
    controller.abort()

    const store = open(file)
    const summaries = []
    let cursor: string | undefined
    do {
      const page = await store.list({ limit: 1000, ...(cursor === undefined ? {} : { cursor }) })
      summaries.push(...page.items)
      expect(page.total).toBeGreaterThan(20)
      cursor = page.nextCursor
    } while (cursor !== undefined)
    expect(new Set(summaries.map((item) => item.agentId)).size).toBe(summaries.length)
    for (const summary of summaries) expectConsistent((await store.get(summary.agentId))!)

    const db = raw(file)
    try {
      expect(db.prepare('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }])
      expect(db.prepare('PRAGMA foreign_key_check').all()).toEqual([])
      const counts = db
        .prepare(
          'SELECT (SELECT count(*) FROM activities) AS activities, (SELECT count(DISTINCT agent_id) FROM activity_log) AS logged',
        )
        .get()!
      expect(counts.activities).toBe(summaries.length)
      expect(counts.logged).toBe(summaries.length)
    } finally {
      db.close()
    }
    const running = summaries.find((item) => item.status === 'running')
    if (running) {
      expect(
        (await store.append(running.agentId, { status: 'error', message: 'Writer crashed' })).status,
      ).toBe('error')
    }
  }, 20_000)
})

/** The schema as `sqlite_master` records it: tables, columns, constraints and indexes. */
function schemaOf(file: string): Array<Record<string, unknown>> {
  const db = raw(file)
  try {
    return db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name').all()
  } finally {
    db.close()
  }
}

/** The current row agrees with the log: what a torn write would break. */
function expectConsistent(activity: Activity): void {
  const { log } = activity
  expect(log.length).toBeGreaterThan(0)
  expect(log[0]!).toMatchObject({ status: 'queued', percentage: 0 })
  expect(log[0]!.at).toBe(activity.createdAt)
  for (let index = 1; index < log.length; index++) {
    expect(
      canTransition(log[index - 1]!.status, log[index]!.status),
      `${activity.agentId} log ${index}`,
    ).toBe(true)
  }
  const last = log.at(-1)!
  expect(activity.status).toBe(last.status)
  expect(activity.message).toBe(last.message)
  expect(activity.updatedAt).toBe(last.at)
  const percentages = log.map((entry) => entry.percentage).filter((value) => value !== null)
  expect(activity.percentage).toBe(percentages.at(-1))
  const firstRunning = log.find((entry) => entry.status === 'running')
  expect(activity.startedAt).toBe(firstRunning?.at)
  const terminal: ActivityStatus[] = ['complete', 'error', 'canceled']
  expect(activity.finishedAt).toBe(terminal.includes(activity.status) ? last.at : undefined)
}
