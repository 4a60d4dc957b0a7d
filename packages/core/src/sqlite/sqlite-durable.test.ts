import { type ChildProcessByStdio, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { Readable, Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { CheckpointInput } from '../activity/types.js'
import { ActivityTransitionError } from '../errors/activity-transition-error.js'
import { CheckpointTooLargeError } from '../errors/checkpoint-too-large-error.js'
import { DecisionError } from '../errors/decision-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { RunnerError } from '../errors/runner-error.js'
import { rejectionOf } from '../test/rejection-of.js'
import { SqliteActivityStore } from './index.js'
import { createSchemaV3 } from './test-helpers/schema-v3.js'
import { useTempDatabases } from './test-helpers/temp-database.js'

// The durable-run contract runs from @runner/testkit; these are what only a file shared by several
// connections and processes can show: atomic claims, leases, crashes, reopening.

const { tempDatabase, open, raw } = useTempDatabases()

const worker = fileURLToPath(new URL('./test-helpers/durable-worker.ts', import.meta.url))

/** A child process running `durable-worker.ts`, with its output read line by line. */
function startWorker(args: string[]) {
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn(
    process.execPath,
    [worker, ...args],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  )
  const lines: string[] = []
  let stderr = ''
  const waiters = new Set<() => void>()
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line)
    for (const wake of waiters) wake()
  })
  child.stderr.on('data', (chunk) => {
    stderr += String(chunk)
  })
  const closed = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once('close', (code, signal) => resolve(signal ?? code)),
  )
  return {
    child,
    lines,
    closed,
    /** Resolves once a line satisfies `test`; fails if the worker ends first or `timeoutMs` passes. */
    waitFor(test: (line: string) => boolean, timeoutMs = 10_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (lines.some(test)) {
            waiters.delete(check)
            clearTimeout(timer)
            resolve()
          }
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(
            new Error(
              `The worker did not print the expected line in time. Lines: ${lines.slice(-5)}; stderr: ${stderr}`,
            ),
          )
        }, timeoutMs)
        waiters.add(check)
        void closed.then(() => {
          if (waiters.has(check)) {
            waiters.delete(check)
            clearTimeout(timer)
            reject(new Error(`The worker ended early. stderr: ${stderr}`))
          }
        })
        check()
      })
    },
    stderr: () => stderr,
  }
}

function checkpoint(turn: number, state: CheckpointInput['state'] = { turn }): CheckpointInput {
  return {
    state,
    runner: 'test',
    turn,
    usage: { inputTokens: turn, outputTokens: turn, totalTokens: 2 * turn },
    attempt: 1,
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('SqliteActivityStore durable runs', () => {
  it('keeps the run record, the queue and its leases, and documents across close and reopen', async () => {
    const file = tempDatabase()
    const first = open(file)
    await first.create({ agentId: 'a1', agentType: 'test', message: 'Waiting', metadata: { tenant: 't1' } })
    await first.append('a1', { status: 'running', message: 'Started', checkpoint: checkpoint(1) })
    await first.recordToolCall('a1', {
      toolCallId: 'c1',
      toolName: 'search',
      input: { q: 'x' },
      output: 'found',
      isError: false,
      attempt: 1,
    })
    await first.append('a1', {
      status: 'waiting',
      message: 'Waiting for approval',
      pending: [{ id: 'c2', kind: 'approval', toolName: 'send', input: { to: 'x' } }],
      expiresAt: '2030-01-01T00:00:00.000Z',
    })
    await first.decide('a1', 'c2', { type: 'approve', by: 'alice' })
    await first.jobQueue.push({ agentId: 'held', job: { n: 1 }, priority: 0, readyAt: 0 })
    await first.jobQueue.claim('owner-a', 1, 60_000)
    await first.jobQueue.push({ agentId: 'free', job: { n: 2 }, priority: 0, readyAt: 0 })
    await first.documents.put('checkpoints', 'thread-1/0001', { v: 1 })
    const record = await first.getRun('a1')
    await first.close()

    const second = open(file)
    expect(
      await second.getRun('a1', { metadata: { tenant: 't1' } }),
      'the record survives reopening',
    ).toEqual(record)
    expect(
      (await second.jobQueue.claim('owner-b', 10, 60_000)).map((job) => job.agentId),
      'a lease survives reopening: only the free job is claimed',
    ).toEqual(['free'])
    expect(
      await second.jobQueue.renew('owner-a', ['held'], 60_000),
      'the first owner still holds its job',
    ).toEqual([])
    expect(await second.documents.get('checkpoints', 'thread-1/0001')).toEqual({ v: 1 })
  })

  it('refuses a durable write to a closed store, and reads of the queue and documents', async () => {
    const store = open(tempDatabase())
    await store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
    await store.close()
    for (const call of [
      () => store.getRun('a1'),
      () => store.saveCheckpoint('a1', checkpoint(1)),
      () => store.jobQueue.claim('owner', 1, 1000),
      () => store.jobQueue.nextReadyAt(),
      () => store.documents.list('ns'),
    ]) {
      const error = await rejectionOf(call())
      expect(RunnerError.isInstance(error) && /closed/.test((error as Error).message)).toBe(true)
    }
  })

  it('applies maxRecordBytes to checkpoints, journal entries, jobs and documents', async () => {
    const store = open({ path: tempDatabase(), maxRecordBytes: 4096 })
    await store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
    const error = await rejectionOf(store.saveCheckpoint('a1', checkpoint(1, 'x'.repeat(4095))))
    expect(CheckpointTooLargeError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ bytes: 4097, limitBytes: 4096, what: 'checkpoint' })
    await store.saveCheckpoint('a1', checkpoint(1, 'x'.repeat(4094)))
    const job = await rejectionOf(
      store.jobQueue.push({ agentId: 'j1', job: 'x'.repeat(5000), priority: 0, readyAt: 0 }),
    )
    expect(InvalidOptionsError.isInstance(job) && (job as InvalidOptionsError).field).toBe('job')
    const document = await rejectionOf(store.documents.put('ns', 'k', 'x'.repeat(5000)))
    expect(InvalidOptionsError.isInstance(document)).toBe(true)
  })

  it('deletes the run record and journal with the activity (a retention job deleting rows by hand)', async () => {
    const file = tempDatabase()
    const store = open(file)
    await store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
    await store.append('a1', { status: 'running', message: 'Started', checkpoint: checkpoint(1) })
    await store.recordToolCall('a1', {
      toolCallId: 'c1',
      toolName: 'search',
      input: null,
      output: null,
      isError: false,
      attempt: 1,
    })
    const db = raw(file)
    db.exec("DELETE FROM activities WHERE agent_id = 'a1'")
    expect(
      db
        .prepare(
          'SELECT (SELECT count(*) FROM run_records) AS records, (SELECT count(*) FROM run_journal) AS journal',
        )
        .get(),
    ).toEqual({ records: 0, journal: 0 })
    expect(await store.getRun('a1')).toBeUndefined()
  })

  describe('two stores on one file', () => {
    it('keep both decisions made through different connections, and refuse the second on one request', async () => {
      const file = tempDatabase()
      const first = open(file)
      const second = open(file)
      await first.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
      await first.append('a1', { status: 'running', message: 'Started' })
      await first.append('a1', {
        status: 'waiting',
        message: 'Waiting',
        pending: [
          { id: 'c1', kind: 'approval', toolName: 'send' },
          { id: 'c2', kind: 'approval', toolName: 'pay' },
        ],
      })
      await Promise.all([
        first.decide('a1', 'c1', { type: 'approve', by: 'first' }),
        second.decide('a1', 'c2', { type: 'deny', by: 'second' }),
      ])
      expect(
        (await first.getRun('a1'))!.pending!.map((request) => request.decision?.by),
        'a decision read and written under the write lock never overwrites one from another connection',
      ).toEqual(['first', 'second'])
      const late = await rejectionOf(second.decide('a1', 'c1', { type: 'deny' }))
      expect(DecisionError.isInstance(late)).toBe(true)
      await second.append('a1', { status: 'canceled', message: 'Canceled' })
      const error = await rejectionOf(first.saveCheckpoint('a1', checkpoint(2)))
      expect(ActivityTransitionError.isInstance(error), 'the other connection sees the run is final').toBe(
        true,
      )
    })

    it('never claim one job twice, and redeliver a job whose lease ran out to the other', async () => {
      const file = tempDatabase()
      const first = open(file)
      const second = open(file)
      for (let index = 0; index < 50; index++) {
        await first.jobQueue.push({ agentId: `j${index}`, job: { index }, priority: index % 2, readyAt: 0 })
      }
      const claims = await Promise.all(
        Array.from({ length: 12 }, (_, index) =>
          (index % 2 ? second : first).jobQueue.claim(`owner-${index}`, 5, 60_000),
        ),
      )
      const ids = claims.flat().map((job) => job.agentId)
      expect(new Set(ids).size).toBe(ids.length)
      expect(ids.length).toBe(50)

      await first.jobQueue.push({ agentId: 'short', job: {}, priority: 9, readyAt: 0 })
      expect((await first.jobQueue.claim('owner-a', 1, 20)).map((job) => job.redelivered)).toEqual([false])
      expect(await first.jobQueue.nextReadyAt(), 'the queue tells when the lease runs out').toBeGreaterThan(0)
      await sleep(60)
      expect(
        (await second.jobQueue.claim('owner-b', 10, 60_000)).map((job) => [job.agentId, job.redelivered]),
        'the other connection claims the job whose lease ran out, redelivered',
      ).toEqual([['short', true]])
      expect(await first.jobQueue.renew('owner-a', ['short'], 60_000)).toEqual(['short'])
    })

    it('makes a claim wait for a write held by another connection, then fail without claiming', async () => {
      const file = tempDatabase()
      const store = open({ path: file, busyTimeoutMs: 50 })
      await store.jobQueue.push({ agentId: 'j1', job: {}, priority: 0, readyAt: 0 })
      const db = raw(file)
      db.exec('BEGIN IMMEDIATE')
      try {
        const error = await rejectionOf(store.jobQueue.claim('owner-a', 1, 60_000))
        expect(RunnerError.isInstance(error)).toBe(true)
        expect((error as Error).message).toContain('busyTimeoutMs (50 ms)')
      } finally {
        db.exec('ROLLBACK')
      }
      expect((await store.jobQueue.claim('owner-b', 1, 60_000)).map((job) => job.agentId)).toEqual(['j1'])
    })
  })

  it('gives each job to one of several processes claiming at the same time', async () => {
    const file = tempDatabase()
    const store = open(file)
    const count = 400
    for (let index = 0; index < count; index++) {
      await store.jobQueue.push({ agentId: `j${index}`, job: { index }, priority: index % 4, readyAt: 0 })
    }
    const workers = Array.from({ length: 4 }, (_, index) =>
      startWorker(['claims', file, `worker-${index}`, String(1 + (index % 3))]),
    )
    try {
      await Promise.all(workers.map((item) => item.waitFor((line) => line === 'ready', 30_000)))
      // Released together, so that their claims overlap.
      for (const item of workers) item.child.stdin.end('go\n')
      const exits = await Promise.all(workers.map((item) => item.closed))
      expect(
        exits,
        `workers exit cleanly; stderr: ${workers.map((item) => item.stderr()).join('\n')}`,
      ).toEqual([0, 0, 0, 0])
    } finally {
      for (const item of workers) item.child.kill('SIGKILL')
    }
    const claimedBy = new Map<string, string[]>()
    for (const [index, item] of workers.entries()) {
      for (const line of item.lines.filter((line) => line.startsWith('['))) {
        for (const agentId of JSON.parse(line) as string[]) {
          claimedBy.set(agentId, [...(claimedBy.get(agentId) ?? []), `worker-${index}`])
        }
      }
    }
    const twice = [...claimedBy].filter(([, owners]) => owners.length > 1)
    expect(twice, 'no job is claimed by two processes').toEqual([])
    expect(claimedBy.size, 'every job is claimed').toBe(count)
    expect(
      workers.filter((item) => item.lines.length > 1).length,
      'more than one process took part (the claims did overlap)',
    ).toBeGreaterThan(1)
    const db = raw(file)
    const recorded = Object.fromEntries(
      db
        .prepare('SELECT owner, count(*) AS jobs FROM job_queue GROUP BY owner')
        .all()
        .map((row) => [row.owner, row.jobs]),
    )
    const reported: Record<string, number> = {}
    for (const [owner] of claimedBy.values()) reported[owner!] = (reported[owner!] ?? 0) + 1
    expect(recorded, 'the queue records as owner of each job the process told it claimed it').toEqual(
      reported,
    )
  }, 60_000)

  it('keeps the previous checkpoint whole when a process is killed with SIGKILL while writing large ones', async () => {
    const file = tempDatabase()
    const stateBytes = 2_000_000
    const writer = startWorker(['checkpoints', file, String(stateBytes)])
    try {
      await writer.waitFor((line) => Number(line) >= 6, 20_000)
      // Let it start a few more writes, so the kill lands in one.
      await sleep(15 + Math.floor(Math.random() * 30))
    } finally {
      writer.child.kill('SIGKILL')
    }
    expect(await writer.closed).toBe('SIGKILL')
    const committed = Math.max(...writer.lines.map(Number))
    expect(committed).toBeGreaterThanOrEqual(6)

    const db = raw(file)
    expect(db.prepare('PRAGMA integrity_check').all(), 'the file is not corrupted').toEqual([
      { integrity_check: 'ok' },
    ])
    expect(db.prepare('PRAGMA foreign_key_check').all()).toEqual([])
    db.close()

    const store = open({ path: file, maxRecordBytes: stateBytes * 2 })
    const record = (await store.getRun('crash-run'))!
    const turn = record.checkpoint!.turn
    expect(
      [committed, committed + 1],
      'the checkpoint is the last one reported committed (or the one after, committed just before the kill)',
    ).toContain(turn)
    const state = record.checkpoint!.state as { turn: number; filler: string; tail: number }
    expect(state.turn, 'the checkpoint’s fields and state agree').toBe(turn)
    expect(state.tail, 'the state is whole: its last field is the turn too').toBe(turn)
    expect(
      state.filler === String(turn % 10).repeat(stateBytes),
      'the state is whole: its filler is intact',
    ).toBe(true)
    expect(record.checkpoint!.bytes).toBe(Buffer.byteLength(JSON.stringify(state), 'utf8'))
    // Odd turns were written by append (the entry and the checkpoint in one transaction).
    const activity = (await store.get('crash-run'))!
    const turns = activity.log
      .filter((entry) => entry.message.startsWith('turn '))
      .map((entry) => entry.message)
    const lastOdd = turn % 2 === 1 ? turn : turn - 1
    expect(
      turns,
      'the log holds the entry of every odd turn up to the checkpoint, and none after it',
    ).toEqual(Array.from({ length: (lastOdd + 1) / 2 }, (_, index) => `turn ${2 * index + 1}`))
    expect(activity.status).toBe('running')
    await store.saveCheckpoint('crash-run', checkpoint(turn + 1))
    expect((await store.getRun('crash-run'))!.checkpoint!.turn, 'the run continues after the crash').toBe(
      turn + 1,
    )
  }, 40_000)

  describe('upgrading a database whose job queue predates concurrency keys (version 3)', () => {
    it('keeps its queued and claimed jobs (unkeyed, in their order and leases), and claims keyed ones fairly after', async () => {
      const file = tempDatabase()
      const db = raw(file)
      const past = Date.now() - 1000
      try {
        createSchemaV3(db)
        const insert = db.prepare(
          'INSERT INTO job_queue (agent_id, job, priority, ready_at, owner, lease_until, claimed_before) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        insert.run('old-held', '{"n":0}', 0, past, 'old-owner', Date.now() + 600_000, 1)
        insert.run('old-1', '{"n":1}', 0, past, null, null, 0)
        insert.run('old-2', '{"n":2}', 3, past, null, null, 0)
        insert.run('old-lapsed', '{"n":3}', 0, past, 'gone-owner', past, 1)
      } finally {
        db.close()
      }
      const store = open({ path: file })
      const queue = store.jobQueue
      await queue.push({
        agentId: 'a1',
        job: 1,
        priority: 0,
        readyAt: past,
        concurrencyKey: 'A',
        concurrencyLimit: 1,
      })
      await queue.push({
        agentId: 'a2',
        job: 2,
        priority: 0,
        readyAt: past,
        concurrencyKey: 'A',
        concurrencyLimit: 1,
      })
      const claimed = await queue.claim('new-owner', 10, 60_000)
      expect(
        claimed.map((job) => [job.agentId, job.redelivered]),
        'the old jobs are unkeyed (one group, with one in flight already), served in turn with A, which runs one at a time; the one under a live lease stays with its owner',
      ).toEqual([
        ['old-2', false],
        ['a1', false],
        ['old-1', false],
        ['old-lapsed', true],
      ])
      expect(claimed[0], 'an old job reads back as it was queued, with no key').toEqual({
        agentId: 'old-2',
        job: { n: 2 },
        priority: 3,
        readyAt: past,
        redelivered: false,
      })
      expect(
        await queue.renew('old-owner', ['old-held'], 60_000),
        'the old lease is still its owner’s',
      ).toEqual([])
      const version = raw(file)
      try {
        expect(version.prepare('PRAGMA user_version').get()).toEqual({
          user_version: SqliteActivityStore.schemaVersion,
        })
      } finally {
        version.close()
      }
    })
  })
})
