import type { ActivityEvent, ActivityLogEntry } from '@runner/core'
import type { AppendActivityInput } from '@runner/core/store'
import { EventReader } from '@runner/core/test'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { StoreSuite } from './context.js'
import { expectInvalidOptions, expectNoKey } from './expectations.js'
import { LOG_KINDS } from './fixtures.js'

/**
 * The structured fields of a log entry, `attempt` and `kind`: kept by `append`, returned by `get`
 * and `watch`, absent (no key) when not given, validated; the creation entry is `lifecycle`.
 */
export function logEntryFieldsCases(suite: StoreSuite): void {
  describe('log entry fields (attempt, kind)', () => {
    let controller: AbortController

    beforeEach(() => {
      controller = new AbortController()
    })

    afterEach(() => {
      controller.abort()
    })

    const watch = () =>
      new EventReader<ActivityEvent>(suite.store.watch({}, controller.signal), 'store.watch({})')

    it('writes the creation entry as kind lifecycle, with no attempt, in create, get and watch', async () => {
      const reader = watch()
      const created = await suite.create('a1')
      const entry = created.log[0]!
      expect(entry.kind, 'the entry create writes is kind lifecycle').toBe('lifecycle')
      expectNoKey(entry, 'attempt', 'the creation entry')
      expect(
        (await suite.store.get('a1'))!.log[0],
        'get returns the creation entry as create wrote it',
      ).toStrictEqual(entry)
      expect((await reader.next()).entry, 'the create event carries the lifecycle entry').toStrictEqual(entry)
    })

    it.each(LOG_KINDS.map((kind, index) => [kind, index + 1] as const))(
      'keeps kind %s with attempt %i in append, get and watch',
      async (kind, attempt) => {
        await suite.createIn('a1', 'running')
        const reader = watch()
        const appended = await suite.store.append('a1', {
          status: 'running',
          message: `a ${kind}`,
          attempt,
          kind,
        })
        const expected: ActivityLogEntry = {
          status: 'running',
          message: `a ${kind}`,
          percentage: null,
          at: appended.updatedAt,
          attempt,
          kind,
        }
        expect(appended.log.at(-1), 'append returns the entry with the attempt and kind given').toStrictEqual(
          expected,
        )
        expect(
          (await suite.store.get('a1'))!.log.at(-1),
          'get returns the entry with its attempt and kind',
        ).toStrictEqual(expected)
        expect(
          (await reader.next()).entry,
          'the watch event carries the entry with its attempt and kind',
        ).toStrictEqual(expected)
      },
    )

    it('keeps each field alone, and the fields of every entry in a mixed log, through a final move', async () => {
      await suite.create('a1')
      const reader = watch()
      const writes: AppendActivityInput[] = [
        { status: 'running', message: 'Started', attempt: 1, kind: 'lifecycle' },
        { status: 'running', message: 'Searching', percentage: 30, kind: 'progress' },
        { status: 'running', message: 'Retrying', attempt: 2 },
        { status: 'running', message: 'No fields' },
        { status: 'running', message: 'Approved', kind: 'approval' },
        { status: 'complete', message: 'Complete', percentage: 100, attempt: 2, kind: 'lifecycle' },
      ]
      for (const write of writes) await suite.store.append('a1', write)
      const log = (await suite.store.get('a1'))!.log
      const fieldsOf = (entry: ActivityLogEntry) => {
        const fields: Partial<ActivityLogEntry> = {}
        if (Object.hasOwn(entry, 'attempt')) fields.attempt = entry.attempt
        if (Object.hasOwn(entry, 'kind')) fields.kind = entry.kind
        return fields
      }
      const expected = [
        { kind: 'lifecycle' },
        { attempt: 1, kind: 'lifecycle' },
        { kind: 'progress' },
        { attempt: 2 },
        {},
        { kind: 'approval' },
        { attempt: 2, kind: 'lifecycle' },
      ]
      expect(
        log.map(fieldsOf),
        'every entry keeps its own attempt and kind; a field not given has no key',
      ).toStrictEqual(expected)
      const events = await reader.take(writes.length)
      expect(
        events.map((event) => fieldsOf(event.entry)),
        'watch events carry the same fields as the log, and no key for a field not given',
      ).toStrictEqual(expected.slice(1))
    })

    it('leaves both fields absent when not given or given as undefined: no key, never null', async () => {
      await suite.create('a1')
      const reader = watch()
      const omitted = await suite.store.append('a1', { status: 'running', message: 'Omitted' })
      const undefinedFields = await suite.store.append('a1', {
        status: 'running',
        message: 'Undefined',
        attempt: undefined,
        kind: undefined,
      } as AppendActivityInput)
      const entries = [omitted.log.at(-1)!, undefinedFields.log.at(-1)!]
      const stored = (await suite.store.get('a1'))!.log.slice(1)
      const events = (await reader.take(2)).map((event) => event.entry)
      for (const [where, list] of [
        ['append', entries],
        ['get', stored],
        ['watch', events],
      ] as const) {
        for (const entry of list) {
          for (const key of ['attempt', 'kind']) expectNoKey(entry, key, `an entry read from ${where}`)
          expect(
            JSON.stringify(entry),
            `an entry read from ${where} serialises without attempt or kind`,
          ).not.toMatch(/"attempt"|"kind"/)
        }
      }
    })

    it('accepts the attempt bounds 1 and 1,000,000', async () => {
      await suite.create('a1')
      const first = await suite.store.append('a1', { status: 'running', message: 'first', attempt: 1 })
      expect(first.log.at(-1)!.attempt, 'attempt 1 (the first attempt) is accepted').toBe(1)
      const last = await suite.store.append('a1', { status: 'running', message: 'last', attempt: 1_000_000 })
      expect(last.log.at(-1)!.attempt, 'attempt 1,000,000 (the maximum) is accepted').toBe(1_000_000)
      expect((await suite.store.get('a1'))!.log.at(-1)!.attempt, 'get returns the maximum attempt').toBe(
        1_000_000,
      )
    })

    it.each([0, -1, 1.5, 1_000_001, Number.NaN, Number.POSITIVE_INFINITY, '2', null])(
      'refuses attempt %s with InvalidOptionsError on attempt, and writes nothing',
      async (attempt) => {
        const before = await suite.createIn('a1', 'running')
        await expectInvalidOptions(
          suite.store.append('a1', { status: 'running', message: 'x', attempt: attempt as number }),
          'attempt',
          `append with attempt ${String(attempt)} (a positive integer up to 1,000,000)`,
        )
        expect(await suite.store.get('a1'), 'append with an invalid attempt writes nothing').toEqual(before)
      },
    )

    it.each(['retrying', '', 'LIFECYCLE', 'status', 3, null])(
      'refuses kind %j with InvalidOptionsError on kind, and writes nothing',
      async (kind) => {
        const before = await suite.createIn('a1', 'running')
        await expectInvalidOptions(
          suite.store.append('a1', { status: 'running', message: 'x', kind: kind as never }),
          'kind',
          `append with kind ${JSON.stringify(kind)} (one of ${LOG_KINDS.join(', ')})`,
        )
        expect(await suite.store.get('a1'), 'append with an invalid kind writes nothing').toEqual(before)
      },
    )
  })
}
