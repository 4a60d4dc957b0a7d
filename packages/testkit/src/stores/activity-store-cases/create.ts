import type { CreateActivityInput } from '@runner/core/store'
import { describe, expect, it } from 'vitest'
import type { StoreSuite } from './context.js'
import { expectInvalidOptions, expectIsoTime, expectNoKey } from './expectations.js'

/** `create`: a queued activity with one lifecycle entry; duplicates and invalid input refused. */
export function createCases(suite: StoreSuite): void {
  describe('create', () => {
    it('creates a queued activity with one log entry', async () => {
      const created = await suite.create('a1', {
        agentType: 'research',
        message: 'Waiting',
        metadata: { tenant: 't1' },
      })
      expect(created, 'create returns the new activity: queued, 0%, the metadata given, one entry').toEqual({
        agentId: 'a1',
        agentType: 'research',
        status: 'queued',
        message: 'Waiting',
        percentage: 0,
        metadata: { tenant: 't1' },
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
        log: [
          { status: 'queued', message: 'Waiting', percentage: 0, at: expect.any(String), kind: 'lifecycle' },
        ],
      })
      expectIsoTime(created.createdAt, 'createdAt')
      expect(created.updatedAt, 'a new activity was updated when it was created').toBe(created.createdAt)
      expect(created.log[0]!.at, 'the creation entry is written at createdAt').toBe(created.createdAt)
      expectNoKey(created, 'startedAt', 'a queued activity')
      expectNoKey(created, 'finishedAt', 'an active activity')
      expect(await suite.store.get('a1'), 'get returns what create returned').toEqual(created)
    })

    it('defaults metadata to an empty object and keeps nested metadata as given', async () => {
      expect((await suite.create('plain')).metadata, 'metadata defaults to {}').toEqual({})
      const metadata = { tenant: 't1', user: { id: 7, roles: ['admin'] }, flag: false, none: null }
      await suite.create('nested', { metadata })
      expect(
        (await suite.store.get('nested'))!.metadata,
        'metadata is kept as given: nested objects, arrays, false and null',
      ).toEqual(metadata)
    })

    it('refuses a duplicate agentId with InvalidOptionsError on agentId and changes nothing', async () => {
      const original = await suite.create('dup', { message: 'first' })
      const error = await expectInvalidOptions(
        suite.create('dup', { agentType: 'other', message: 'second' }),
        'agentId',
        'create with an agentId that exists',
      )
      expect(error.message, 'the duplicate-id error names the agentId').toContain('dup')
      expect(await suite.store.get('dup'), 'a refused duplicate leaves the first activity unchanged').toEqual(
        original,
      )
      expect((await suite.store.list()).total, 'a refused duplicate adds no activity').toBe(1)
    })

    it.each([
      ['agentId', { agentId: '' }],
      ['agentId', { agentId: 42 }],
      ['agentType', { agentType: '' }],
      ['agentType', { agentType: undefined }],
      ['message', { message: 7 }],
      ['metadata', { metadata: 'tenant=t1' }],
      ['metadata', { metadata: ['t1'] }],
    ])('refuses invalid input naming %s, and writes nothing', async (field, override) => {
      const input = { agentId: 'bad', agentType: 'test', message: 'Waiting', ...override }
      await expectInvalidOptions(suite.store.create(input as unknown as CreateActivityInput), field)
      expect((await suite.store.list()).total, 'refused input creates no activity').toBe(0)
      expect(await suite.store.countActive(), 'refused input creates no active activity').toBe(0)
    })
  })
}
