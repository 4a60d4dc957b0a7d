import {
  ActivityNotFoundError,
  ActivityTransitionError,
  InvalidOptionsError,
  type MetadataFilter,
} from '@runner/core'
import type { CheckpointInput, JsonValue } from '@runner/core/store'
import { describe, expect, it } from 'vitest'
import type { StoreSuite } from './context.js'
import {
  type ErrorClass,
  expectInvalidOptions,
  expectIsoTime,
  expectNoKey,
  expectRefused,
} from './expectations.js'
import { checkpointOf, journalEntryOf, moveTo, WAITING_ON } from './fixtures.js'

/** The size of a checkpoint as the contract counts it: the UTF-8 JSON of its state. */
function bytesOf(state: JsonValue): number {
  return Buffer.byteLength(JSON.stringify(state), 'utf8')
}

/**
 * The durable record of a run (`getRun`): the latest checkpoint, written alone or with a log entry
 * in one write; the journal of completed tool calls (first record wins, in order); the result,
 * stored with `complete` only; all of it scoped by metadata like every read.
 */
export function runRecordCases(suite: StoreSuite): void {
  describe('run record', () => {
    it('holds only the status and an empty journal for a new activity, and is undefined for an unknown id', async () => {
      await suite.create('a1')
      expect(
        await suite.store.getRun('a1'),
        'getRun of an activity with no durable part: agentId, status and an empty journal, no other key',
      ).toStrictEqual({ agentId: 'a1', status: 'queued', journal: [] })
      expect(await suite.store.getRun('missing'), 'getRun of an unknown agentId is undefined').toBeUndefined()
    })

    it('keeps the latest checkpoint only, with the time it was saved and its size', async () => {
      await suite.createIn('a1', 'running')
      await suite.store.saveCheckpoint('a1', checkpointOf(1))
      const second = checkpointOf(2)
      await suite.store.saveCheckpoint('a1', second)
      const { checkpoint } = (await suite.store.getRun('a1'))!
      expect(checkpoint, 'getRun returns the latest checkpoint saved, every field kept').toEqual({
        ...second,
        at: expect.any(String),
        bytes: bytesOf(second.state),
      })
      expectIsoTime(checkpoint!.at, 'checkpoint.at')
      expect(checkpoint!.bytes, 'checkpoint.bytes is the size of the state as UTF-8 JSON').toBe(
        bytesOf(second.state),
      )
    })

    it.each<[string, JsonValue]>([
      ['null', null],
      ['a string', 'plain text'],
      ['an array', [1, 'two', { three: [3] }]],
      ['an empty object', {}],
    ])('keeps a checkpoint whose state is %s', async (_case, state) => {
      await suite.createIn('a1', 'running')
      await suite.store.saveCheckpoint('a1', checkpointOf(1, state))
      expect(
        (await suite.store.getRun('a1'))!.checkpoint?.state,
        `a checkpoint state may be any JSON value (${_case})`,
      ).toEqual(state)
    })

    it('accepts checkpoints and journal entries while queued, running or waiting', async () => {
      for (const status of ['queued', 'running', 'waiting'] as const) {
        await suite.createIn(status, status)
        await suite.store.saveCheckpoint(status, checkpointOf(3))
        await suite.store.recordToolCall(status, journalEntryOf('call-7'))
        const record = (await suite.store.getRun(status))!
        expect(record.checkpoint?.turn, `saveCheckpoint works on a ${status} run`).toBe(3)
        expect(
          record.journal.map((entry) => entry.toolCallId),
          `recordToolCall works on a ${status} run`,
        ).toEqual(['call-7'])
        expect(record.status, 'saving the record does not move the run').toBe(status)
      }
    })

    it('saves a checkpoint given with append in the same write as the entry, and keeps it until replaced', async () => {
      await suite.create('a1')
      const appended = await suite.store.append('a1', {
        status: 'running',
        message: 'Turn 1',
        checkpoint: checkpointOf(1),
      })
      expect(appended.log.at(-1)?.message, 'the entry is written').toBe('Turn 1')
      expect(
        (await suite.store.getRun('a1'))!.checkpoint?.turn,
        'the checkpoint given with append is saved',
      ).toBe(1)
      await suite.store.append('a1', { status: 'running', message: 'No checkpoint' })
      expect(
        (await suite.store.getRun('a1'))!.checkpoint?.turn,
        'an append without a checkpoint keeps the one saved before',
      ).toBe(1)
      await suite.store.append('a1', { ...moveTo('waiting'), checkpoint: checkpointOf(2) })
      expect(
        (await suite.store.getRun('a1'))!,
        'a move to waiting saves its checkpoint with its pending requests',
      ).toMatchObject({ status: 'waiting', checkpoint: { turn: 2 }, pending: WAITING_ON })
    })

    it('writes neither the entry nor the checkpoint when append is refused', async () => {
      await suite.createIn('a1', 'running')
      await suite.store.saveCheckpoint('a1', checkpointOf(1))
      const before = await suite.store.get('a1')
      const recordBefore = await suite.store.getRun('a1')
      const refusals: Array<[string, () => Promise<unknown>, ErrorClass]> = [
        [
          'an illegal move (running -> queued) with a checkpoint',
          () => suite.store.append('a1', { status: 'queued', message: 'x', checkpoint: checkpointOf(2) }),
          ActivityTransitionError,
        ],
        [
          'a checkpoint without a runner',
          () =>
            suite.store.append('a1', {
              status: 'running',
              message: 'x',
              checkpoint: { ...checkpointOf(2), runner: undefined } as unknown as CheckpointInput,
            }),
          InvalidOptionsError,
        ],
        [
          'a checkpoint with a negative turn',
          () =>
            suite.store.append('a1', {
              status: 'running',
              message: 'x',
              checkpoint: { ...checkpointOf(2), turn: -1 },
            }),
          InvalidOptionsError,
        ],
        [
          'a move to waiting with a checkpoint but no pending request',
          () => suite.store.append('a1', { status: 'waiting', message: 'x', checkpoint: checkpointOf(2) }),
          InvalidOptionsError,
        ],
        [
          'a result with a checkpoint on a move that is not complete',
          () =>
            suite.store.append('a1', {
              status: 'running',
              message: 'x',
              checkpoint: checkpointOf(2),
              result: 'r',
            }),
          InvalidOptionsError,
        ],
      ]
      for (const [what, call, expected] of refusals) {
        await expectRefused(call(), expected, what)
        expect(await suite.store.get('a1'), `${what}: the refused append writes no entry`).toEqual(before)
        expect(
          await suite.store.getRun('a1'),
          `${what}: the refused append keeps the previous checkpoint`,
        ).toEqual(recordBefore)
      }
      await expectRefused(
        suite.store.append('missing', { status: 'running', message: 'x', checkpoint: checkpointOf(2) }),
        ActivityNotFoundError,
        'append with a checkpoint to an unknown agentId',
      )
      expect(await suite.store.getRun('missing'), 'no record is made for an unknown agentId').toBeUndefined()
    })

    it('names the checkpoint field that is wrong', async () => {
      await suite.createIn('a1', 'running')
      await expectInvalidOptions(
        suite.store.saveCheckpoint('a1', { ...checkpointOf(1), turn: 1.5 }),
        'checkpoint.turn',
        'saveCheckpoint with a fractional turn',
      )
      await expectInvalidOptions(
        suite.store.saveCheckpoint('a1', { ...checkpointOf(1), attempt: 0 }),
        'checkpoint.attempt',
        'saveCheckpoint with attempt 0',
      )
      const { state: _state, ...noState } = checkpointOf(1)
      await expectInvalidOptions(
        suite.store.saveCheckpoint('a1', noState as CheckpointInput),
        'checkpoint.state',
        'saveCheckpoint without a state',
      )
      await expectInvalidOptions(
        suite.store.recordToolCall('a1', { ...journalEntryOf('c1'), toolCallId: '' }),
        'toolCallId',
        'recordToolCall with an empty toolCallId',
      )
      expect(
        await suite.store.getRun('a1'),
        'refused writes leave no checkpoint and no journal entry',
      ).toStrictEqual({
        agentId: 'a1',
        status: 'running',
        journal: [],
      })
    })

    it('stores the result with complete, including null, and readable through getRun', async () => {
      const result = { answer: 'Otters hold hands', sources: ['a', 'ü'], score: 0.5, nested: { ok: true } }
      await suite.createIn('a1', 'running')
      const done = await suite.store.append('a1', {
        status: 'complete',
        message: 'Complete',
        percentage: 100,
        result,
      })
      expect(done.status, 'append with a result completes the activity').toBe('complete')
      expect(
        (await suite.store.getRun('a1'))!.result,
        'getRun returns the result, wrapped in { value }',
      ).toEqual({
        value: result,
      })
      await suite.createIn('a2', 'running')
      await suite.store.append('a2', { status: 'complete', message: 'Complete', result: null })
      expect(
        (await suite.store.getRun('a2'))!.result,
        'a null result is stored, and told apart from no result by its wrapper',
      ).toEqual({ value: null })
      await suite.createIn('a3', 'complete')
      expectNoKey(
        (await suite.store.getRun('a3'))!,
        'result',
        'the record of a run completed without a result',
      )
    })

    it.each(['running', 'error', 'canceled'] as const)(
      'refuses a result with status %s, naming result, and writes nothing',
      async (status) => {
        const before = await suite.createIn('a1', 'running')
        await expectInvalidOptions(
          suite.store.append('a1', { status, message: 'x', result: { answer: 1 } }),
          'result',
          `append to ${status} with a result`,
        )
        expect(await suite.store.get('a1'), 'a refused result writes no entry').toEqual(before)
        expectNoKey((await suite.store.getRun('a1'))!, 'result', 'the record after a refused result')
      },
    )

    it('journals tool calls in the order recorded; the first record of a call wins', async () => {
      await suite.createIn('a1', 'running')
      await suite.store.recordToolCall('a1', journalEntryOf('c1', { hits: 3 }))
      await suite.store.recordToolCall('a1', {
        ...journalEntryOf('c2', 'Tool failed: timeout'),
        isError: true,
        attempt: 2,
      })
      await suite.store.recordToolCall('a1', journalEntryOf('c1', { hits: 99 }))
      await suite.store.recordToolCall('a1', journalEntryOf('c0', null))
      const { journal } = (await suite.store.getRun('a1'))!
      expect(
        journal.map((entry) => entry.toolCallId),
        'the journal keeps each call once, in the order first recorded',
      ).toEqual(['c1', 'c2', 'c0'])
      expect(journal[0], 'a second record of c1 is ignored: the first one wins, every field kept').toEqual({
        ...journalEntryOf('c1', { hits: 3 }),
        at: expect.any(String),
      })
      expect(journal[1], 'an error result is journaled with isError and its attempt').toEqual({
        ...journalEntryOf('c2', 'Tool failed: timeout'),
        isError: true,
        attempt: 2,
        at: expect.any(String),
      })
      expect(journal[2]!.output, 'a null output is kept as null').toBeNull()
      for (const entry of journal) expectIsoTime(entry.at, 'journal entry at')
    })

    it('saves a checkpoint given with recordToolCall in the same write as the entry', async () => {
      await suite.createIn('a1', 'running')
      await suite.store.saveCheckpoint('a1', checkpointOf(1))
      await suite.store.recordToolCall('a1', journalEntryOf('c1'), { checkpoint: checkpointOf(2) })
      const record = (await suite.store.getRun('a1'))!
      expect(record.checkpoint?.turn, 'the checkpoint given with the entry replaces the previous one').toBe(2)
      expect(
        record.journal.map((entry) => entry.toolCallId),
        'and the entry is journaled',
      ).toEqual(['c1'])
      await suite.store.recordToolCall('a1', journalEntryOf('c2'))
      expect(
        (await suite.store.getRun('a1'))?.checkpoint?.turn,
        'an entry without a checkpoint leaves the checkpoint as it was',
      ).toBe(2)
    })

    it('keeps the journal across later checkpoints and moves', async () => {
      await suite.createIn('a1', 'running')
      await suite.store.recordToolCall('a1', journalEntryOf('c1'))
      await suite.store.saveCheckpoint('a1', checkpointOf(1))
      await suite.store.recordToolCall('a1', journalEntryOf('c2'))
      await suite.store.append('a1', { status: 'running', message: 'Turn 2', checkpoint: checkpointOf(2) })
      await suite.store.append('a1', moveTo('waiting'))
      await suite.store.append('a1', { status: 'running', message: 'Resumed' })
      await suite.store.append('a1', { status: 'complete', message: 'Complete', result: 'done' })
      const record = (await suite.store.getRun('a1'))!
      expect(
        record.journal.map((entry) => entry.toolCallId),
        'checkpoints and moves never drop journal entries',
      ).toEqual(['c1', 'c2'])
      expect(record.checkpoint?.turn, 'the latest checkpoint stays after the run completes').toBe(2)
    })

    it('refuses a checkpoint or a journal entry for an unknown id or a final activity, and writes nothing', async () => {
      for (const [what, call] of [
        ['saveCheckpoint', () => suite.store.saveCheckpoint('missing', checkpointOf(1))],
        ['recordToolCall', () => suite.store.recordToolCall('missing', journalEntryOf('c1'))],
      ] as const) {
        const error = await expectRefused(call(), ActivityNotFoundError, `${what} for an unknown agentId`)
        expect(error, `the ActivityNotFoundError of ${what} names the agentId`).toMatchObject({
          agentId: 'missing',
        })
      }
      expect(
        await suite.store.get('missing'),
        'no activity is created for an unknown agentId',
      ).toBeUndefined()
      for (const status of ['complete', 'error', 'canceled'] as const) {
        await suite.createIn(status, status)
        const before = await suite.store.getRun(status)
        for (const [what, call] of [
          ['saveCheckpoint', () => suite.store.saveCheckpoint(status, checkpointOf(9))],
          ['recordToolCall', () => suite.store.recordToolCall(status, journalEntryOf('late'))],
        ] as const) {
          const error = await expectRefused(call(), ActivityTransitionError, `${what} on a ${status} run`)
          expect(
            error,
            `${what} on a final run fails with ActivityTransitionError from ${status} to ${status}`,
          ).toMatchObject({ agentId: status, from: status, to: status })
        }
        expect(
          await suite.store.getRun(status),
          `the record of a ${status} run is closed: nothing written`,
        ).toEqual(before)
      }
    })

    it('hides another tenant’s run from getRun under a metadata scope', async () => {
      await suite.createIn('mine', 'running', { metadata: { tenant: 't1' } })
      await suite.createIn('theirs', 'waiting', { metadata: { tenant: 't2' } })
      await suite.store.saveCheckpoint('theirs', checkpointOf(4))
      await suite.store.saveCheckpoint('mine', checkpointOf(1))
      const scope = { metadata: { tenant: 't1' } }
      expect(await suite.store.getRun('theirs', scope), 'getRun hides another tenant’s run').toBeUndefined()
      expect(
        (await suite.store.getRun('mine', scope))?.checkpoint?.turn,
        'getRun shows the scope’s own run',
      ).toBe(1)
      expect(
        (await suite.store.getRun('theirs', { metadata: { tenant: 't2' } }))?.pending,
        'getRun shows a run to its own tenant, pending requests included',
      ).toEqual(WAITING_ON)
      expect((await suite.store.getRun('theirs'))?.agentId, 'getRun without a scope shows every run').toBe(
        'theirs',
      )
      await expectInvalidOptions(
        suite.store.getRun('mine', { metadata: { tenant: ['t1'] } as unknown as MetadataFilter }),
        'metadata',
        'getRun with an array as a scope value',
      )
    })

    it('is not changed by mutating what getRun returns, or a checkpoint after saving it', async () => {
      await suite.createIn('a1', 'running')
      const checkpoint = checkpointOf(1)
      await suite.store.saveCheckpoint('a1', checkpoint)
      ;(checkpoint.state as { messages: unknown[] }).messages.push('hacked')
      checkpoint.usage.totalTokens = -1
      await suite.store.recordToolCall('a1', journalEntryOf('c1'))
      await suite.store.append('a1', moveTo('waiting'))
      const snapshot = structuredClone(await suite.store.getRun('a1'))
      const read = (await suite.store.getRun('a1'))!
      ;(read.checkpoint!.state as { messages: unknown[] }).messages.length = 0
      read.checkpoint!.turn = 99
      read.journal[0]!.output = 'hacked'
      read.journal.push({ ...read.journal[0]!, toolCallId: 'injected' })
      read.pending![0]!.decision = { type: 'deny', at: read.checkpoint!.at }
      read.pending!.push({ id: 'injected', kind: 'input' })
      expect(snapshot!.checkpoint?.state, 'the checkpoint is copied when saved').toEqual(
        checkpointOf(1).state,
      )
      expect(await suite.store.getRun('a1'), 'mutating a returned record changes nothing stored').toEqual(
        snapshot,
      )
    })
  })
}
