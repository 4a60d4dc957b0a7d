import { describe, expect, it } from 'vitest'
import { CheckpointTooLargeError } from '../errors/checkpoint-too-large-error.js'
import { ValueTooLargeError } from '../errors/value-too-large-error.js'
import { useTempDatabases } from '../sqlite/test-helpers/temp-database.js'
import { rejectionOf } from '../test/rejection-of.js'
import { MAX_JSON_DEPTH } from '../util/json-limits.js'
import { MemoryActivityStore } from './memory-store.js'
import { MAX_RECORD_DEPTH } from './run-record.js'
import type { ActivityStore, CheckpointInput, JsonValue } from './types.js'

const { tempDatabase, open } = useTempDatabases()

/** `levels` objects nested in one another: `{ a: { a: ... 1 } }`. */
function nested(levels: number): JsonValue {
  let value: JsonValue = 1
  for (let level = 0; level < levels; level++) value = { a: value }
  return value
}

function checkpoint(state: JsonValue): CheckpointInput {
  return {
    state,
    runner: 'test',
    turn: 1,
    usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
    attempt: 1,
  }
}

const entry = (output: JsonValue, input: JsonValue = null) => ({
  toolCallId: 'c1',
  toolName: 'search',
  input,
  output,
  isError: false,
  attempt: 1,
})

function tooLarge(error: unknown, field: string, limit: number): void {
  expect(ValueTooLargeError.isInstance(error)).toBe(true)
  expect(error).toMatchObject({ field, unit: 'levels', limit, actual: limit + 1 })
  expect((error as Error).message).toContain(`Invalid run record: ${field}: is nested more than`)
}

describe.each([
  ['MemoryActivityStore', (): ActivityStore => new MemoryActivityStore()],
  ['SqliteActivityStore', (): ActivityStore => open({ path: tempDatabase() })],
])('%s: depth of the run record', (_, makeStore) => {
  async function running(): Promise<ActivityStore> {
    const store = makeStore()
    await store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
    await store.append('a1', { status: 'running', message: 'Started' })
    return store
  }

  it('refuses a checkpoint state nested 5,000 deep (saveCheckpoint and append), writing nothing', async () => {
    const store = await running()
    tooLarge(
      await rejectionOf(store.saveCheckpoint('a1', checkpoint(nested(5_000)))),
      'checkpoint.state',
      MAX_RECORD_DEPTH,
    )
    tooLarge(
      await rejectionOf(
        store.append('a1', { status: 'running', message: 'Turn 2', checkpoint: checkpoint(nested(5_000)) }),
      ),
      'checkpoint.state',
      MAX_RECORD_DEPTH,
    )
    expect((await store.getRun('a1'))?.checkpoint).toBeUndefined()
    expect((await store.get('a1'))?.log.map((line) => line.message)).toEqual(['Waiting', 'Started'])
  })

  it('keeps a state at the limit, and refuses a large shallow one with CheckpointTooLargeError', async () => {
    const store = await running()
    await store.saveCheckpoint('a1', checkpoint(nested(MAX_RECORD_DEPTH)))
    expect((await store.getRun('a1'))?.checkpoint?.state).toEqual(nested(MAX_RECORD_DEPTH))
    const big = await rejectionOf(store.saveCheckpoint('a1', checkpoint('x'.repeat(17 * 1024 * 1024))))
    expect(CheckpointTooLargeError.isInstance(big)).toBe(true)
  })

  it('refuses a journaled tool input or output nested past the limit, writing nothing', async () => {
    const store = await running()
    tooLarge(
      await rejectionOf(store.recordToolCall('a1', entry(nested(MAX_JSON_DEPTH + 1)))),
      'journal entry c1.output',
      MAX_JSON_DEPTH,
    )
    tooLarge(
      await rejectionOf(
        store.recordToolCall('a1', entry('ok', nested(5_000)), { checkpoint: checkpoint({ turn: 2 }) }),
      ),
      'journal entry c1.input',
      MAX_JSON_DEPTH,
    )
    const record = await store.getRun('a1')
    expect(record?.journal).toEqual([])
    expect(record?.checkpoint).toBeUndefined()
    await store.recordToolCall('a1', entry(nested(MAX_JSON_DEPTH), nested(MAX_JSON_DEPTH)))
    expect((await store.getRun('a1'))?.journal[0]?.output).toEqual(nested(MAX_JSON_DEPTH))
  })

  it('refuses pending request input and a result nested past the limit, leaving the status as it was', async () => {
    const store = await running()
    tooLarge(
      await rejectionOf(
        store.append('a1', {
          status: 'waiting',
          message: 'Approve?',
          pending: [{ id: 'c1', kind: 'approval', toolName: 'pay', input: nested(5_000) }],
        }),
      ),
      'pending.0.input',
      MAX_JSON_DEPTH,
    )
    tooLarge(
      await rejectionOf(
        store.append('a1', { status: 'complete', message: 'Done', result: nested(1_000_000) }),
      ),
      'result',
      MAX_JSON_DEPTH,
    )
    expect(await store.get('a1')).toMatchObject({ status: 'running' })
    await store.append('a1', { status: 'complete', message: 'Done', result: nested(MAX_JSON_DEPTH) })
    expect((await store.getRun('a1'))?.result).toEqual({ value: nested(MAX_JSON_DEPTH) })
  })
})
