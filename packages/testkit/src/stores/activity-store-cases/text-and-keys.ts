import { type ActivityStore, InvalidOptionsError, ValueTooLargeError } from '@runner/core'
import { type DocumentTable, type DurableJobQueue, MAX_METADATA_TEXT_BYTES } from '@runner/core/store'
import { describe, expect, it } from 'vitest'
import type { StoreSuite } from './context.js'
import { expectInvalidOptions, expectRefused } from './expectations.js'
import { checkpointOf, journalEntryOf, trajectoryOf } from './fixtures.js'

/** The characters no store can keep: the character, how errors name it, and a label. */
const UNSTORABLE = [
  ['NUL', '\u0000', 'U+0000'],
  ['a lone high surrogate', '\uD800', 'U+D800'],
  ['a lone low surrogate', '\uDC00', 'U+DC00'],
] as const

const RESERVED_KEYS = ['__proto__', 'constructor', 'prototype'] as const

/**
 * Free text with every unstorable character (NUL, lone high and low surrogates, a reversed pair),
 * a real pair (an emoji) and a backslash followed by the letters `u0000` and `ud800` (text, not a
 * NUL): `CLEAN` is what every store keeps of it.
 */
const DIRTY = 'a\u0000b\uD800c\uDC00d\uDC00\uD800e 🚀 \\u0000 \\ud800 "q"'
const CLEAN = 'a\uFFFDb\uFFFDc\uFFFDd\uFFFD\uFFFDe 🚀 \\u0000 \\ud800 "q"'

/** A JSON value holding `DIRTY` in string values, object keys and arrays. */
const dirtyJson = () => ({ text: DIRTY, [`key ${DIRTY}`]: [DIRTY, 1, null, { deep: DIRTY }] })
/** What every store keeps of `dirtyJson()`. */
const cleanJson = () => ({ text: CLEAN, [`key ${CLEAN}`]: [CLEAN, 1, null, { deep: CLEAN }] })

/** `length` characters that no compression shrinks much (deterministic). */
function incompressible(length: number, seed = 1): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  let state = seed
  let text = ''
  for (let index = 0; index < length; index++) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648
    text += alphabet[state % 64]
  }
  return text
}

/**
 * The text policy every store shares, and metadata keys: NUL (U+0000) and lone surrogates are
 * refused with `InvalidOptionsError` naming the field and the character in what users give and
 * look up by (agentId, agentType, metadata keys and values, metadata filters, tool call and
 * request ids, document keys), and replaced by U+FFFD in the free text and JSON the runner
 * produces (messages, checkpoints, journaled tool calls, pending requests, decisions, results,
 * trajectories, document values), identically in every store. Metadata keys `__proto__`,
 * `constructor` and `prototype` are refused at create and in every metadata filter (never
 * dropped); indexed metadata text over `MAX_METADATA_TEXT_BYTES` and metadata nested deeper than
 * the JSON depth limit are refused with `ValueTooLargeError`.
 */
export function textAndKeyCases(suite: StoreSuite): void {
  describe('text policy and metadata keys', () => {
    /** Expects `call` refused with an issue on `field` naming `code`, and nothing created. */
    const expectUnstorable = async (call: Promise<unknown>, field: string, code: string, what: string) => {
      const error = await expectInvalidOptions(call, field, what)
      expect(error.message, `the error of ${what} names the character (${code})`).toContain(code)
      return error
    }

    /** Every call that takes a metadata filter, on an existing activity `a1`. */
    const filterCalls = (store: ActivityStore, metadata: Record<string, unknown>) =>
      [
        ['list', () => store.list({ metadata: metadata as never })],
        ['get', () => store.get('a1', { metadata: metadata as never })],
        ['countActive', () => store.countActive({ metadata: metadata as never })],
        ['getRun', () => store.getRun('a1', { metadata: metadata as never })],
        ['getTrajectory', () => store.getTrajectory('a1', { metadata: metadata as never })],
        [
          'watch',
          async () => {
            const controller = new AbortController()
            try {
              const events = store.watch({ metadata: metadata as never }, controller.signal)
              const iterator = events[Symbol.asyncIterator]()
              controller.abort()
              await iterator.next()
            } finally {
              controller.abort()
            }
          },
        ],
      ] as const

    describe.each(UNSTORABLE)('%s', (_label, character, code) => {
      /** How a field path writes the character when it is in a key: as its JSON escape. */
      const escaped = `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`
      it.each([
        ['agentId', { agentId: `a${character}` }],
        ['agentType', { agentType: `t${character}` }],
        ['metadata.tenant', { metadata: { tenant: `t${character}` } }],
        ['metadata.user.name', { metadata: { user: { name: `n${character}` } } }],
        ['metadata.tags.1', { metadata: { tags: ['ok', `x${character}`] } }],
        [`metadata.k${escaped}`, { metadata: { [`k${character}`]: 1 } }],
        [`metadata.user.k${escaped}`, { metadata: { user: { [`k${character}`]: 1 } } }],
      ])('is refused in %s at create, naming the field and the character', async (field, override) => {
        const input = { agentId: 'bad', agentType: 'test', message: 'Waiting', ...override }
        await expectUnstorable(suite.store.create(input), field, code, `create with ${code} in ${field}`)
        expect((await suite.store.list()).total, 'a refused create writes nothing').toBe(0)
      })

      it('is refused in metadata filter keys and values by every call that takes one', async () => {
        await suite.create('a1', { metadata: { tenant: 't1' } })
        for (const [field, metadata] of [
          ['metadata.tenant', { tenant: `t1${character}` }],
          [`metadata.tenant${escaped}`, { [`tenant${character}`]: 't1' }],
        ] as const) {
          for (const [method, call] of filterCalls(suite.store, metadata)) {
            await expectUnstorable(
              call(),
              field,
              code,
              `${method} with ${code} in the metadata filter ${JSON.stringify(metadata)}`,
            )
          }
        }
      })

      it('is refused in a watch filter agentId, a tool call id and a pending request id', async () => {
        await suite.createIn('a1', 'running')
        const controller = new AbortController()
        await expectUnstorable(
          (async () => suite.store.watch({ agentId: `a${character}` }, controller.signal))(),
          'agentId',
          code,
          `watch with ${code} in agentId`,
        )
        controller.abort()
        const before = await suite.store.getRun('a1')
        await expectUnstorable(
          suite.store.recordToolCall('a1', journalEntryOf(`c${character}`)),
          'toolCallId',
          code,
          `recordToolCall with ${code} in toolCallId`,
        )
        await expectUnstorable(
          suite.store.append('a1', {
            status: 'waiting',
            message: 'Waiting',
            pending: [{ id: `r${character}`, kind: 'approval' }],
          }),
          'pending.0.id',
          code,
          `append with ${code} in a pending request id`,
        )
        expect(await suite.store.getRun('a1'), 'a refused id writes nothing').toEqual(before)
        expect((await suite.store.get('a1'))!.status, 'a refused append moves nothing').toBe('running')
      })

      it('is refused in a document namespace or key', async (context) => {
        const table = suite.store.documents as DocumentTable | undefined
        if (!table) return context.skip('this store has no documents table')
        await expectUnstorable(
          table.put('ns', `k${character}`, 1),
          'key',
          code,
          `put with ${code} in the key`,
        )
        await expectUnstorable(
          table.put(`n${character}`, 'k', 1),
          'namespace',
          code,
          `put with ${code} in the namespace`,
        )
        await expectUnstorable(
          table.putMany('ns', [
            { key: 'ok', value: 1 },
            { key: `k${character}`, value: 2 },
          ]),
          'documents.1.key',
          code,
          `putMany with ${code} in a key`,
        )
        expect(await table.list('ns'), 'a refused put writes nothing').toEqual([])
      })

      it('is refused in a job agentId and a claim owner', async (context) => {
        const queue = suite.store.jobQueue as DurableJobQueue | undefined
        if (!queue) return context.skip('this store has no jobQueue')
        const job = { agentId: `j${character}`, job: 1, priority: 0, readyAt: Date.now() - 1000 }
        await expectUnstorable(queue.push(job), 'agentId', code, `push with ${code} in agentId`)
        if (queue.pushMany) {
          await expectUnstorable(
            queue.pushMany([{ ...job, agentId: 'ok' }, job]),
            'jobs[1].agentId',
            code,
            `pushMany with ${code} in an agentId`,
          )
        }
        await expectUnstorable(
          queue.claim(`w${character}`, 1, 60_000),
          'owner',
          code,
          `claim with ${code} in owner`,
        )
        expect(await queue.nextReadyAt(), 'a refused push queues nothing').toBeUndefined()
      })

      it('finds no activity by an id holding it', async () => {
        await suite.create(`a${'\uFFFD'}`)
        expect(
          await suite.store.get(`a${character}`),
          'an id no store can hold matches nothing (not the id with U+FFFD in its place)',
        ).toBeUndefined()
        expect(await suite.store.getRun(`a${character}`), 'getRun: nothing').toBeUndefined()
      })
    })

    it('keeps U+FFFD in place of each NUL and lone surrogate in messages, in every read', async () => {
      const created = await suite.create('a1', { message: DIRTY })
      expect(created.message, 'create returns the message with U+FFFD in place').toBe(CLEAN)
      expect(created.log[0]!.message, 'the creation entry keeps the same text').toBe(CLEAN)
      const appended = await suite.store.append('a1', { status: 'running', message: `run ${DIRTY}` })
      expect(appended.message, 'append returns the message with U+FFFD in place').toBe(`run ${CLEAN}`)
      const read = await suite.store.get('a1')
      expect(read, 'get returns what append returned').toEqual(appended)
      expect(
        read!.log.map((entry) => entry.message),
        'every entry keeps its text',
      ).toEqual([CLEAN, `run ${CLEAN}`])
      expect((await suite.store.list()).items[0]!.message, 'list reads the same text').toBe(`run ${CLEAN}`)
    })

    it('keeps metadata of well-formed text as given: pairs, backslashes and quotes', async () => {
      const metadata = { tenant: 'héllo 🚀 \\u0000 "q"', '😀 key': { nested: '\\ud800' } }
      await suite.create('a1', { metadata })
      expect((await suite.store.get('a1'))!.metadata, 'metadata is kept as given').toEqual(metadata)
      expect(
        await suite.store.countActive({ metadata: { tenant: 'héllo 🚀 \\u0000 "q"' } }),
        'a filter on such text matches',
      ).toBe(1)
    })

    it('keeps U+FFFD in place of each NUL and lone surrogate in the run record', async () => {
      await suite.createIn('a1', 'running')
      await suite.store.saveCheckpoint('a1', checkpointOf(1, dirtyJson()))
      await suite.store.recordToolCall(
        'a1',
        { ...journalEntryOf('c1', dirtyJson()), input: dirtyJson(), toolName: `tool ${DIRTY}` },
        { checkpoint: checkpointOf(2, [DIRTY]) },
      )
      const run = (await suite.store.getRun('a1'))!
      expect(run.checkpoint!.state, 'the checkpoint state keeps U+FFFD in keys and values').toEqual([CLEAN])
      expect(
        run.journal[0],
        'the journal entry keeps U+FFFD in its input, output and toolName',
      ).toMatchObject({
        toolCallId: 'c1',
        toolName: `tool ${CLEAN}`,
        input: cleanJson(),
        output: cleanJson(),
      })
      await suite.store.saveCheckpoint('a1', checkpointOf(3, dirtyJson()))
      expect((await suite.store.getRun('a1'))!.checkpoint!.state, 'saveCheckpoint alike').toEqual(cleanJson())

      await suite.store.append('a1', {
        status: 'waiting',
        message: 'Waiting',
        pending: [
          { id: 'r1', kind: 'approval', toolName: `tool ${DIRTY}`, input: dirtyJson() },
          { id: 'r2', kind: 'input', payload: dirtyJson() },
        ],
      })
      await suite.store.decide('a1', 'r1', { type: 'approve', input: dirtyJson(), reason: DIRTY, by: 'ops' })
      const decided = await suite.store.decide('a1', 'r2', { type: 'respond', value: dirtyJson() })
      expect(decided.pending, 'pending requests and decisions keep U+FFFD').toMatchObject([
        {
          id: 'r1',
          toolName: `tool ${CLEAN}`,
          input: cleanJson(),
          decision: { type: 'approve', input: cleanJson(), reason: CLEAN, by: 'ops' },
        },
        { id: 'r2', payload: cleanJson(), decision: { type: 'respond', value: cleanJson() } },
      ])
      expect((await suite.store.getRun('a1'))!.pending, 'getRun reads the same').toEqual(decided.pending)

      await suite.store.append('a1', { status: 'running', message: 'Resumed' })
      await suite.store.append('a1', { status: 'complete', message: 'Done', result: dirtyJson() })
      expect((await suite.store.getRun('a1'))!.result, 'the result keeps U+FFFD').toEqual({
        value: cleanJson(),
      })
    })

    it('keeps U+FFFD in place of each NUL and lone surrogate in trajectories, jobs and document values', async () => {
      await suite.createIn('a1', 'complete')
      const trajectory = trajectoryOf('a1')
      trajectory.steps[0]!.data = dirtyJson()
      await suite.store.saveTrajectory('a1', trajectory)
      expect(
        (await suite.store.getTrajectory('a1'))!.steps[0]!.data,
        'the trajectory keeps U+FFFD in keys and values',
      ).toEqual(cleanJson())
      const queue = suite.store.jobQueue as DurableJobQueue | undefined
      if (queue) {
        await queue.push({ agentId: 'j1', job: dirtyJson(), priority: 0, readyAt: Date.now() - 1000 })
        const [claimed] = await queue.claim('w1', 1, 60_000)
        expect(claimed?.job, 'a job keeps U+FFFD').toEqual(cleanJson())
      }
      const table = suite.store.documents as DocumentTable | undefined
      if (!table) return
      await table.put('ns', 'k1', dirtyJson())
      await table.putMany('ns', [{ key: 'k2', value: DIRTY }])
      expect(await table.get('ns', 'k1'), 'a document value keeps U+FFFD').toEqual(cleanJson())
      expect(await table.list('ns'), 'list reads the same values').toEqual([
        { key: 'k1', value: cleanJson() },
        { key: 'k2', value: CLEAN },
      ])
    })

    describe.each(RESERVED_KEYS)('metadata key %s', (key) => {
      it('is refused at create, at the top or nested, when it is an own key (as JSON.parse makes it)', async () => {
        for (const metadata of [
          JSON.parse(`{"${key}": {"x": 1}, "tenant": "a"}`),
          JSON.parse(`{"tenant": "a", "user": {"${key}": "x"}}`),
        ] as Record<string, unknown>[]) {
          const error = await expectInvalidOptions(
            suite.store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting', metadata }),
            'metadata',
            `create with a metadata key ${key}`,
          )
          expect(error.message, `the error names the key ${key}`).toContain(key)
          expect(error.field, 'the field is the path of the key').toMatch(new RegExp(`${key}$`))
        }
        expect((await suite.store.list()).total, 'a refused create writes nothing').toBe(0)
      })

      it('is refused in the metadata filter of every call that takes one, never dropped', async () => {
        await suite.create('a1', { metadata: { tenant: 'a' } })
        await suite.create('a2', { metadata: { tenant: 'b' } })
        const filter = JSON.parse(`{"${key}": "x", "tenant": "a"}`) as Record<string, unknown>
        for (const [method, call] of filterCalls(suite.store, filter)) {
          const error = await expectInvalidOptions(
            call(),
            `metadata.${key}`,
            `${method} with the filter key ${key}`,
          )
          expect(error.message, `the error of ${method} names the key ${key}`).toContain(key)
        }
      })
    })

    it('refuses an indexed metadata key or string value over MAX_METADATA_TEXT_BYTES, writing nothing', async () => {
      const long = incompressible(10_000)
      for (const [field, metadata] of [
        ['metadata.note', { note: long }],
        [`metadata.${long.slice(0, 2000)}`, { [long.slice(0, 2000)]: 1 }],
      ] as const) {
        const error = await expectRefused(
          suite.store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting', metadata }),
          ValueTooLargeError,
          `create with a metadata text over ${MAX_METADATA_TEXT_BYTES} bytes`,
        )
        expect(error, 'the error names the field, the size and the limit').toMatchObject({
          field,
          unit: 'bytes',
          limit: MAX_METADATA_TEXT_BYTES,
        })
        expect((error as ValueTooLargeError).actual).toBeGreaterThan(MAX_METADATA_TEXT_BYTES)
        expect((error as Error).message, 'the message states the limit').toContain(
          MAX_METADATA_TEXT_BYTES.toLocaleString('en-US'),
        )
      }
      // 'é' is two bytes: half as many characters are over the limit.
      await expectRefused(
        suite.create('a1', { metadata: { note: 'é'.repeat(MAX_METADATA_TEXT_BYTES / 2) } }),
        ValueTooLargeError,
        'a metadata value over the limit in UTF-8 bytes',
      )
      expect((await suite.store.list()).total, 'a refused create writes nothing').toBe(0)
      for (const [method, call] of filterCalls(suite.store, { note: long })) {
        await expectRefused(call(), ValueTooLargeError, `${method} with a filter value over the limit`)
      }
    })

    it('accepts indexed metadata text at the limit, filterable, and long text nested deeper', async () => {
      // The JSON text of a string of n ASCII characters is n + 2 bytes (its quotes).
      const key = incompressible(MAX_METADATA_TEXT_BYTES - 2, 7)
      const value = incompressible(MAX_METADATA_TEXT_BYTES - 2, 11)
      const nested = incompressible(10_000, 13)
      const metadata = { [key]: value, doc: { text: nested } }
      await suite.create('a1', { metadata })
      await suite.create('a2', { metadata: { [key]: 'other' } })
      expect((await suite.store.get('a1'))!.metadata, 'metadata at the limit is kept whole').toEqual(metadata)
      expect(
        (await suite.store.list({ metadata: { [key]: value } })).items.map((item) => item.agentId),
        'a filter on a key and value at the limit finds the activity',
      ).toEqual(['a1'])
      expect(await suite.store.countActive({ metadata: { [key]: value } })).toBe(1)
    })

    it('refuses metadata nested deeper than the JSON depth limit with ValueTooLargeError naming metadata', async () => {
      let deep: Record<string, unknown> = {}
      for (let level = 0; level < 5000; level++) deep = { d: deep }
      const error = await expectRefused(
        suite.store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting', metadata: deep }),
        ValueTooLargeError,
        'create with metadata nested 5,000 deep',
      )
      expect(error, 'the error names metadata and counts levels').toMatchObject({
        field: 'metadata',
        unit: 'levels',
      })
      expect(InvalidOptionsError.isInstance(error), 'it is an InvalidOptionsError too').toBe(true)
      expect((await suite.store.list()).total, 'a refused create writes nothing').toBe(0)
    })
  })
}
