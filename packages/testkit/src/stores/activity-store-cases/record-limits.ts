import { CheckpointTooLargeError } from '@runner/core'
import { describe, expect, it } from 'vitest'
import type { StoreSuite } from './context.js'
import { expectRefused } from './expectations.js'
import { checkpointOf, journalEntryOf } from './fixtures.js'

/**
 * The size limit of the run record (`maxRecordBytes`): a checkpoint whose state, or a journal
 * entry, is larger as UTF-8 JSON is refused with `CheckpointTooLargeError` naming its size and
 * the limit, and nothing is written. The suite is told the limit the store was created with.
 */
export function recordLimitCases(suite: StoreSuite): void {
  describe('run record size limit (maxRecordBytes)', () => {
    /** Expects a CheckpointTooLargeError for `what`, over the store's limit. */
    const expectTooLarge = async (call: Promise<unknown>, what: string, agentId: string) => {
      const error = await expectRefused(call, CheckpointTooLargeError, what)
      const limit = suite.maxRecordBytes
      expect(error, `the CheckpointTooLargeError of ${what} names the run and the limit`).toMatchObject({
        agentId,
        limitBytes: limit,
      })
      expect(
        (error as CheckpointTooLargeError).bytes,
        `the CheckpointTooLargeError of ${what} gives its size, over the limit`,
      ).toBeGreaterThan(limit)
      expect(
        (error as Error).message,
        `the message of ${what} states the limit (${limit.toLocaleString('en-US')} bytes)`,
      ).toContain(limit.toLocaleString('en-US'))
      return error as CheckpointTooLargeError
    }

    it('refuses a checkpoint over the limit, keeping the previous one', async () => {
      await suite.createIn('a1', 'running')
      await suite.store.saveCheckpoint('a1', checkpointOf(1))
      const before = await suite.store.getRun('a1')
      // A string state of n characters is n + 2 bytes of JSON (its quotes).
      const error = await expectTooLarge(
        suite.store.saveCheckpoint('a1', checkpointOf(2, 'x'.repeat(suite.maxRecordBytes - 1))),
        'saveCheckpoint one byte over the limit',
        'a1',
      )
      expect(error.bytes, 'the size counted is the state’s JSON').toBe(suite.maxRecordBytes + 1)
      expect(error.what, 'the error says a checkpoint was refused').toBe('checkpoint')
      expect(await suite.store.getRun('a1'), 'a refused checkpoint leaves the previous one intact').toEqual(
        before,
      )
    })

    it('accepts a checkpoint exactly at the limit', async () => {
      await suite.createIn('a1', 'running')
      const state = 'x'.repeat(suite.maxRecordBytes - 2)
      await suite.store.saveCheckpoint('a1', checkpointOf(1, state))
      const { checkpoint } = (await suite.store.getRun('a1'))!
      expect(checkpoint?.bytes, 'a checkpoint of exactly maxRecordBytes is accepted').toBe(
        suite.maxRecordBytes,
      )
      expect(checkpoint?.state === state, 'the state at the limit is stored whole').toBe(true)
    })

    it('counts UTF-8 bytes, not characters', async () => {
      await suite.createIn('a1', 'running')
      // 'é' is one character and two bytes: fewer characters than the limit, more bytes.
      const characters = Math.ceil(suite.maxRecordBytes / 2)
      await expectTooLarge(
        suite.store.saveCheckpoint('a1', checkpointOf(1, 'é'.repeat(characters))),
        `a checkpoint of ${characters} two-byte characters`,
        'a1',
      )
      const fits = 'é'.repeat(Math.floor((suite.maxRecordBytes - 2) / 2))
      await suite.store.saveCheckpoint('a1', checkpointOf(1, fits))
      expect((await suite.store.getRun('a1'))!.checkpoint?.bytes, 'bytes counts UTF-8').toBe(
        Buffer.byteLength(JSON.stringify(fits), 'utf8'),
      )
    })

    it('writes neither the entry nor the checkpoint of an append whose checkpoint is over the limit', async () => {
      await suite.createIn('a1', 'running')
      await suite.store.saveCheckpoint('a1', checkpointOf(1))
      const before = await suite.store.get('a1')
      const recordBefore = await suite.store.getRun('a1')
      await expectTooLarge(
        suite.store.append('a1', {
          status: 'complete',
          message: 'Complete',
          checkpoint: checkpointOf(2, 'x'.repeat(suite.maxRecordBytes)),
          result: 'done',
        }),
        'append with a checkpoint over the limit',
        'a1',
      )
      expect(await suite.store.get('a1'), 'the refused append writes no entry and keeps the status').toEqual(
        before,
      )
      expect(
        await suite.store.getRun('a1'),
        'the refused append keeps the previous checkpoint and stores no result',
      ).toEqual(recordBefore)
    })

    it('writes neither the entry nor the checkpoint of a recordToolCall when either is over the limit', async () => {
      await suite.createIn('a1', 'running')
      await suite.store.saveCheckpoint('a1', checkpointOf(1))
      const before = await suite.store.getRun('a1')
      await expectTooLarge(
        suite.store.recordToolCall('a1', journalEntryOf('c1'), {
          checkpoint: checkpointOf(2, 'x'.repeat(suite.maxRecordBytes)),
        }),
        'recordToolCall with a checkpoint over the limit',
        'a1',
      )
      await expectTooLarge(
        suite.store.recordToolCall('a1', journalEntryOf('c2', 'x'.repeat(suite.maxRecordBytes)), {
          checkpoint: checkpointOf(3),
        }),
        'recordToolCall with an entry over the limit and a checkpoint',
        'a1',
      )
      expect(await suite.store.getRun('a1'), 'a refused recordToolCall writes neither part').toEqual(before)
    })

    it('refuses a journal entry over the limit, keeping the others', async () => {
      await suite.createIn('a1', 'running')
      await suite.store.recordToolCall('a1', journalEntryOf('c1'))
      const before = await suite.store.getRun('a1')
      const error = await expectTooLarge(
        suite.store.recordToolCall('a1', journalEntryOf('c2', 'x'.repeat(suite.maxRecordBytes))),
        'recordToolCall with an output over the limit',
        'a1',
      )
      expect(error.what, 'the error names the journal entry refused').toContain('c2')
      expect(await suite.store.getRun('a1'), 'a refused journal entry writes nothing').toEqual(before)
      const fits = 'x'.repeat(suite.maxRecordBytes - 1024)
      await suite.store.recordToolCall('a1', journalEntryOf('c3', fits))
      const { journal } = (await suite.store.getRun('a1'))!
      expect(
        journal.map((entry) => entry.toolCallId),
        'an entry under the limit is journaled',
      ).toEqual(['c1', 'c3'])
      expect(journal[1]!.output === fits, 'a large output is stored whole').toBe(true)
    })
  })
}
