import {
  type ActivityEvent,
  ActivityNotFoundError,
  ActivityTransitionError,
  CheckpointTooLargeError,
  DecisionError,
  InvalidOptionsError,
} from '@runner/core'
import type { CheckpointInput, JournalEntryInput } from '@runner/core/store'
import { describe, expect, it } from 'vitest'
import type { PostgresActivityStore } from './index.js'
import { adminPool, databaseUrl, urlWithApplicationName } from './test-helpers/database.js'
import { eventually, rejectionOf, useStores } from './test-helpers/stores.js'

// The durable run record of PostgresActivityStore: what the memory store does, across processes,
// atomically with the activity, and through a lost connection.

const { open } = useStores('run')

const usage = { inputTokens: 10, outputTokens: 5, totalTokens: 15 }

function checkpointOf(state: CheckpointInput['state'], turn = 1): CheckpointInput {
  return { state, runner: 'test-runner', turn, usage, attempt: 1 }
}

function toolCall(toolCallId: string, output: JournalEntryInput['output']): JournalEntryInput {
  return { toolCallId, toolName: 'search', input: { query: toolCallId }, output, isError: false, attempt: 1 }
}

async function running(store: PostgresActivityStore, agentId: string, metadata = {}): Promise<void> {
  await store.create({ agentId, agentType: 'test', message: 'Waiting', metadata })
  await store.append(agentId, { status: 'running', message: 'Started' })
}

async function waitingFor(store: PostgresActivityStore, agentId: string, ids: string[]): Promise<void> {
  await running(store, agentId)
  await store.append(agentId, {
    status: 'waiting',
    message: 'Waiting for approval',
    pending: ids.map((id) => ({ id, kind: 'approval' as const, toolName: 'send', input: { to: id } })),
  })
}

/** Reads the next event, or `undefined` when none arrives within `ms` (the watcher is idle). */
async function nextEvent(iterator: AsyncIterator<ActivityEvent>, ms = 10_000) {
  let timer: ReturnType<typeof setTimeout> | undefined
  const idle = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms)
  })
  const next = await Promise.race([iterator.next(), idle]).finally(() => clearTimeout(timer))
  return next?.done ? undefined : next?.value
}

describe.skipIf(!databaseUrl)('PostgresActivityStore run record (DATABASE_URL)', { timeout: 60_000 }, () => {
  describe('append with the run record', () => {
    it('writes the checkpoint, the pending requests, their expiry and the result with the entry, and getRun reads them from any store', async () => {
      const store = open()
      const other = open({ schema: store.schema })
      await running(store, 'a1', { tenant: 't1' })
      const started = await store.append('a1', {
        status: 'running',
        message: 'Turn 1',
        checkpoint: checkpointOf({ messages: ['hi'] }),
      })
      expect(await other.getRun('a1')).toStrictEqual({
        agentId: 'a1',
        status: 'running',
        journal: [],
        checkpoint: {
          runner: 'test-runner',
          turn: 1,
          usage,
          attempt: 1,
          at: started.updatedAt,
          bytes: Buffer.byteLength('{"messages":["hi"]}'),
          state: { messages: ['hi'] },
        },
      })

      const expiresAt = '2030-01-01T00:00:00Z'
      await store.append('a1', {
        status: 'waiting',
        message: 'Waiting for approval',
        pending: [{ id: 'call-1', kind: 'approval', toolName: 'send', input: { to: 'x' } }],
        expiresAt,
      })
      const waiting = (await other.getRun('a1'))!
      expect(waiting.status).toBe('waiting')
      expect(waiting.pending).toEqual([
        { id: 'call-1', kind: 'approval', toolName: 'send', input: { to: 'x' } },
      ])
      expect(waiting.expiresAt, 'the expiry comes back as it was given').toBe(expiresAt)
      expect(waiting.checkpoint?.state, 'a change without a checkpoint keeps the previous one').toEqual({
        messages: ['hi'],
      })

      await store.append('a1', { status: 'running', message: 'Resumed', kind: 'resume' })
      const resumed = (await other.getRun('a1'))!
      expect(resumed.pending, 'a move out of waiting clears the pending requests').toBeUndefined()
      expect(resumed.expiresAt, 'and their expiry').toBeUndefined()

      await store.append('a1', { status: 'complete', message: 'Done', result: null })
      const done = (await other.getRun('a1'))!
      expect(done.result, 'a null result is kept (wrapped)').toEqual({ value: null })
      expect(done.status).toBe('complete')

      expect(
        await other.getRun('a1', { metadata: { tenant: 't2' } }),
        'another tenant sees nothing',
      ).toBeUndefined()
      expect(await other.getRun('a1', { metadata: { tenant: 't1' } })).toEqual(done)
      expect(await other.getRun('missing')).toBeUndefined()
      expect(await other.getRun('a\u0000')).toBeUndefined()
    })

    it('keeps the checkpoint as the exact JSON text it encoded (text column: key order kept; a NUL kept as U+FFFD, as every store does)', async () => {
      const store = open()
      await running(store, 'a1')
      const state = { zeta: 1, alpha: { text: 'nul \u0000 inside', b: 2, a: 1 } }
      await store.saveCheckpoint('a1', checkpointOf(state))
      const record = (await store.getRun('a1'))!
      expect(JSON.stringify(record.checkpoint!.state)).toBe(
        JSON.stringify({ zeta: 1, alpha: { text: 'nul \uFFFD inside', b: 2, a: 1 } }),
      )
      const { rows } = await adminPool().query(`SELECT checkpoint FROM "${store.schema}".runs`)
      expect(rows[0].checkpoint).toContain(
        '"state":{"zeta":1,"alpha":{"text":"nul \\ufffd inside","b":2,"a":1}}',
      )
    })

    it('stores U+FFFD for a NUL or lone surrogate in pending requests (the jsonb column holds neither), as every store does', async () => {
      const store = open()
      await running(store, 'a1')
      await store.append('a1', {
        status: 'waiting',
        message: 'Waiting',
        pending: [{ id: 'call-1', kind: 'approval', input: { text: 'a\u0000b\uD800' } }],
      })
      expect((await store.getRun('a1'))!.pending).toEqual([
        { id: 'call-1', kind: 'approval', input: { text: 'a\uFFFDb\uFFFD' } },
      ])
      const { rows } = await adminPool().query(
        `SELECT pending #>> '{0,input,text}' AS text FROM "${store.schema}".runs`,
      )
      expect(rows).toEqual([{ text: 'a\uFFFDb\uFFFD' }])
    })

    it('refuses a checkpoint over maxRecordBytes with CheckpointTooLargeError: no entry, no checkpoint, no event', async () => {
      const store = open({ maxRecordBytes: 1024 })
      const controller = new AbortController()
      const reader = store.watch({}, controller.signal)[Symbol.asyncIterator]()
      try {
        await running(store, 'a1')
        await store.append('a1', { status: 'running', message: 'Turn 1', checkpoint: checkpointOf({ n: 1 }) })
        expect((await nextEvent(reader))?.entry.message).toBe('Waiting')
        expect((await nextEvent(reader))?.entry.message).toBe('Started')
        expect((await nextEvent(reader))?.entry.message).toBe('Turn 1')
        const before = await store.get('a1')

        const large = checkpointOf({ text: 'x'.repeat(2000) })
        const error = await rejectionOf(
          store.append('a1', {
            status: 'waiting',
            message: 'Too large',
            checkpoint: large,
            pending: [{ id: 'call-1', kind: 'approval' }],
          }),
        )
        expect(CheckpointTooLargeError.isInstance(error)).toBe(true)
        expect(error).toMatchObject({ agentId: 'a1', what: 'checkpoint', limitBytes: 1024 })
        expect((error as CheckpointTooLargeError).bytes).toBeGreaterThan(2000)
        expect(await store.get('a1'), 'the entry was not written').toEqual(before)
        const record = (await store.getRun('a1'))!
        expect(record.checkpoint?.state, 'the previous checkpoint stays').toEqual({ n: 1 })
        expect(record.pending).toBeUndefined()

        expect(CheckpointTooLargeError.isInstance(await rejectionOf(store.saveCheckpoint('a1', large)))).toBe(
          true,
        )
        expect((await store.getRun('a1'))!.checkpoint?.state).toEqual({ n: 1 })

        await store.append('a1', { status: 'running', message: 'Next' })
        expect((await nextEvent(reader))?.entry.message, 'the refused change sent no event').toBe('Next')
      } finally {
        controller.abort()
      }
    })
  })

  describe('saveCheckpoint and recordToolCall', () => {
    it('saveCheckpoint replaces the checkpoint and keeps the pending requests of a waiting run', async () => {
      const store = open()
      await waitingFor(store, 'a1', ['call-1'])
      await store.saveCheckpoint('a1', checkpointOf({ v: 1 }, 1))
      await store.saveCheckpoint('a1', checkpointOf({ v: 2 }, 2))
      const record = (await store.getRun('a1'))!
      expect(record.checkpoint).toMatchObject({ state: { v: 2 }, turn: 2 })
      expect(record.pending?.map((request) => request.id)).toEqual(['call-1'])
    })

    it('refuses unknown ids and final activities like the memory store, writing nothing', async () => {
      const store = open()
      for (const call of [
        () => store.saveCheckpoint('missing', checkpointOf({})),
        () => store.recordToolCall('missing', toolCall('c1', 'x')),
      ]) {
        expect(ActivityNotFoundError.isInstance(await rejectionOf(call()))).toBe(true)
      }
      await running(store, 'a1')
      await store.append('a1', { status: 'canceled', message: 'Canceled' })
      for (const call of [
        () => store.saveCheckpoint('a1', checkpointOf({})),
        () => store.recordToolCall('a1', toolCall('c1', 'x')),
      ]) {
        const error = await rejectionOf(call())
        expect(ActivityTransitionError.isInstance(error)).toBe(true)
        expect(error).toMatchObject({ agentId: 'a1', from: 'canceled', to: 'canceled' })
      }
      expect(await store.getRun('a1')).toStrictEqual({ agentId: 'a1', status: 'canceled', journal: [] })
    })

    it('journals tool calls in the order recorded; the first record of an id wins, also between processes at once', async () => {
      const first = open()
      const second = open({ schema: first.schema })
      await running(first, 'a1')
      await first.recordToolCall('a1', toolCall('c2', 'two'))
      await first.recordToolCall('a1', toolCall('c1', 'one'))
      await second.recordToolCall('a1', toolCall('c2', 'changed'))
      await Promise.all(
        Array.from({ length: 10 }, (_, index) =>
          (index % 2 ? first : second).recordToolCall('a1', toolCall('c3', `writer ${index}`)),
        ),
      )
      const { journal } = (await second.getRun('a1'))!
      expect(journal.map((entry) => [entry.toolCallId, entry.output])).toEqual([
        ['c2', 'two'],
        ['c1', 'one'],
        ['c3', expect.stringMatching(/^writer \d$/)],
      ])
      expect(journal[0]).toMatchObject({
        toolName: 'search',
        input: { query: 'c2' },
        isError: false,
        attempt: 1,
      })
      expect(Date.parse(journal[0]!.at)).not.toBeNaN()
      const { rows } = await adminPool().query(
        `SELECT count(*)::int AS count FROM "${first.schema}".run_journal`,
      )
      expect(rows[0].count).toBe(3)
    })

    it('refuses a journal entry over maxRecordBytes with CheckpointTooLargeError, writing nothing', async () => {
      const store = open({ maxRecordBytes: 512 })
      await running(store, 'a1')
      const error = await rejectionOf(store.recordToolCall('a1', toolCall('big', 'y'.repeat(600))))
      expect(CheckpointTooLargeError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({ what: 'journal entry big', limitBytes: 512 })
      expect((await store.getRun('a1'))!.journal).toEqual([])
    })
  })

  describe('decide', () => {
    it('records approve, deny and respond on the requests they fit, and returns the record', async () => {
      const store = open()
      await running(store, 'a1')
      await store.append('a1', {
        status: 'waiting',
        message: 'Waiting',
        pending: [
          { id: 'call-1', kind: 'approval', toolName: 'send' },
          { id: 'call-2', kind: 'approval', toolName: 'send' },
          { id: 'ask', kind: 'input', payload: { question: 'Which?' } },
        ],
      })
      await store.decide('a1', 'call-1', { type: 'approve', input: { to: 'edited' }, by: 'ann' })
      await store.decide('a1', 'call-2', { type: 'deny', reason: 'no' })
      const record = await store.decide('a1', 'ask', { type: 'respond', value: { choice: 2 } })
      expect(record.pending).toEqual([
        {
          id: 'call-1',
          kind: 'approval',
          toolName: 'send',
          decision: { type: 'approve', input: { to: 'edited' }, by: 'ann', at: expect.any(String) },
        },
        {
          id: 'call-2',
          kind: 'approval',
          toolName: 'send',
          decision: { type: 'deny', reason: 'no', at: expect.any(String) },
        },
        {
          id: 'ask',
          kind: 'input',
          payload: { question: 'Which?' },
          decision: { type: 'respond', value: { choice: 2 }, at: expect.any(String) },
        },
      ])
      expect(await store.getRun('a1')).toEqual(record)
      expect((await store.get('a1'))!.status, 'a decision does not move the activity').toBe('waiting')
    })

    it('refuses with DecisionError what cannot apply, changing nothing', async () => {
      const store = open()
      await running(store, 'r1')
      expect(
        DecisionError.isInstance(await rejectionOf(store.decide('r1', 'call-1', { type: 'approve' }))),
      ).toBe(true)
      await waitingFor(store, 'w1', ['call-1'])
      expect(
        DecisionError.isInstance(await rejectionOf(store.decide('w1', 'other', { type: 'approve' }))),
      ).toBe(true)
      expect(
        DecisionError.isInstance(
          await rejectionOf(store.decide('w1', 'call-1', { type: 'respond', value: 1 })),
        ),
      ).toBe(true)
      await store.decide('w1', 'call-1', { type: 'deny' })
      const before = await store.getRun('w1')
      const again = await rejectionOf(store.decide('w1', 'call-1', { type: 'approve' }))
      expect(DecisionError.isInstance(again)).toBe(true)
      expect((again as Error).message).toMatch(/already decided \(deny/)
      expect(await store.getRun('w1')).toEqual(before)
      expect(
        ActivityNotFoundError.isInstance(await rejectionOf(store.decide('missing', 'x', { type: 'deny' }))),
      ).toBe(true)
      const invalid = await rejectionOf(store.decide('w1', 'call-1', { type: 'maybe' } as never))
      expect(InvalidOptionsError.isInstance(invalid)).toBe(true)
    })

    it('lands concurrent decisions on different requests from two processes, and exactly one of several on the same request', async () => {
      const first = open()
      const second = open({ schema: first.schema })
      const ids = Array.from({ length: 12 }, (_, index) => `call-${index}`)
      await waitingFor(first, 'a1', ids)
      await Promise.all(
        ids.map((id, index) =>
          (index % 2 ? first : second).decide('a1', id, { type: 'approve', by: `p${index % 2}` }),
        ),
      )
      const record = (await first.getRun('a1'))!
      expect(record.pending!.map((request) => [request.id, request.decision?.type])).toEqual(
        ids.map((id) => [id, 'approve']),
      )

      await waitingFor(first, 'a2', ['call-1'])
      const outcomes = await Promise.allSettled(
        Array.from({ length: 6 }, (_, index) =>
          (index % 2 ? first : second).decide('a2', 'call-1', {
            type: index % 2 ? 'approve' : 'deny',
            by: `#${index}`,
          }),
        ),
      )
      const won = outcomes.filter((outcome) => outcome.status === 'fulfilled')
      expect(won).toHaveLength(1)
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') expect(DecisionError.isInstance(outcome.reason)).toBe(true)
      }
      const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof first.decide>>>).value
      expect((await second.getRun('a2'))!.pending).toEqual(winner.pending)
    })

    it('sends no watch event for a decision', async () => {
      const store = open()
      await waitingFor(store, 'a1', ['call-1'])
      const controller = new AbortController()
      const reader = store.watch({}, controller.signal)[Symbol.asyncIterator]()
      try {
        await store.countActive()
        await store.decide('a1', 'call-1', { type: 'approve' })
        await store.append('a1', { status: 'running', message: 'Resumed' })
        expect((await nextEvent(reader))?.entry.message).toBe('Resumed')
      } finally {
        controller.abort()
      }
    })
  })

  describe('a lost connection in the middle of a write', () => {
    it('writes the whole change or none of it: a write held inside its transaction and cut off leaves neither the entry nor the record', async () => {
      const applicationName = `runner-cut-${process.pid}`
      const store = open({ connectionString: urlWithApplicationName(applicationName), onError: () => {} })
      const ids = ['a1', 'a2', 'a3']
      for (const id of ids) await running(store, id)
      const before = await Promise.all(ids.map((id) => store.get(id)))
      // The write waits inside its transaction once the run record and the log row are written:
      // the point where a half-written change would show.
      await adminPool().query(`
        CREATE FUNCTION "${store.schema}".hold() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.message = 'Hold' THEN PERFORM pg_sleep(60); END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER hold AFTER INSERT ON "${store.schema}".activity_log
          FOR EACH ROW EXECUTE FUNCTION "${store.schema}".hold();`)
      const writes = ids.map((id) =>
        store
          .append(id, {
            status: 'waiting',
            message: 'Hold',
            checkpoint: checkpointOf({ hold: true }),
            pending: [{ id: 'call-1', kind: 'approval' }],
          })
          .then(
            () => 'written',
            (error: unknown) => error,
          ),
      )
      const cut = () =>
        adminPool().query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
          [applicationName],
        )
      try {
        // The three writes, submitted together, go out in one batch: one transaction, which sleeps
        // in the trigger once it has written the run records and the log rows.
        const states = async () =>
          (
            await adminPool().query<{ sleeping: number; active: number }>(
              `SELECT count(*) FILTER (WHERE wait_event = 'PgSleep')::int AS sleeping,
                      count(*) FILTER (WHERE state = 'active')::int AS active
               FROM pg_stat_activity WHERE application_name = $1`,
              [applicationName],
            )
          ).rows[0]!
        await eventually(async () => {
          const { sleeping, active } = await states()
          return sleeping === 1 && active === 1
        }, 'every write is inside its transaction')
        const { rows: uncommitted } = await adminPool().query(
          `SELECT count(*)::int AS count FROM "${store.schema}".activity_log WHERE status = 'waiting'`,
        )
        expect(uncommitted[0].count, 'nothing is visible before the commit').toBe(0)
      } finally {
        // What a server crash or a failover does to the connections in use.
        await cut()
      }
      for (const outcome of await Promise.all(writes)) expect(outcome).toBeInstanceOf(Error)

      expect(await Promise.all(ids.map((id) => store.get(id))), 'no entry, no status change').toEqual(before)
      for (const id of ids) {
        expect(await store.getRun(id), `no checkpoint or pending request for ${id}`).toStrictEqual({
          agentId: id,
          status: 'running',
          journal: [],
        })
      }
      await adminPool().query(`DROP TRIGGER hold ON "${store.schema}".activity_log`)
      // The store goes on with new connections.
      await store.append('a1', {
        status: 'waiting',
        message: 'Waiting for approval',
        checkpoint: checkpointOf({ hold: true }),
        pending: [{ id: 'call-1', kind: 'approval' }],
      })
      expect((await store.getRun('a1'))!).toMatchObject({
        status: 'waiting',
        checkpoint: { state: { hold: true } },
      })
    })

    it('keeps entry, checkpoint and result together while connections are cut at random moments', async () => {
      const applicationName = `runner-chaos-${process.pid}`
      const store = open({ connectionString: urlWithApplicationName(applicationName), onError: () => {} })
      const count = 40
      const ids = Array.from({ length: count }, (_, index) => `a${index}`)
      for (const id of ids) await running(store, id)
      let cutting = true
      let cuts = 0
      const cutter = (async () => {
        while (cutting) {
          const { rows } = await adminPool().query(
            `SELECT count(pg_terminate_backend(pid))::int AS cut FROM pg_stat_activity
             WHERE application_name = $1 AND state = 'active'`,
            [applicationName],
          )
          cuts += rows[0].cut as number
          await new Promise((resolve) => setTimeout(resolve, 1))
        }
      })()
      const outcomes = await Promise.allSettled(
        ids.map((id, index) =>
          store.append(id, {
            status: 'complete',
            message: 'Done',
            checkpoint: checkpointOf({ step: index, padding: 'p'.repeat(20_000) }),
            result: { step: index },
          }),
        ),
      )
      cutting = false
      await cutter
      for (const [index, id] of ids.entries()) {
        const activity = (await store.get(id))!
        const record = (await store.getRun(id))!
        const written = activity.status === 'complete'
        expect(activity.log.length, `${id}: one entry more, or none`).toBe(written ? 3 : 2)
        expect(
          (record.checkpoint?.state as { step?: number } | undefined)?.step,
          `${id}: the checkpoint goes with the entry`,
        ).toBe(written ? index : undefined)
        expect(record.result, `${id}: the result goes with the entry`).toEqual(
          written ? { value: { step: index } } : undefined,
        )
        if (outcomes[index]!.status === 'fulfilled')
          expect(written, `${id}: a resolved append was written`).toBe(true)
      }
      // The cuts must have hit some writes for this test to show anything.
      expect(cuts).toBeGreaterThan(0)
    })
  })
})
