import type { MetadataFilter } from '@runner/core'
import { describe, expect, it } from 'vitest'
import type { StoreSuite } from './context.js'
import { expectInvalidOptions } from './expectations.js'

/** `get`: undefined for an unknown id, and scoped by metadata. */
export function getCases(suite: StoreSuite): void {
  describe('get', () => {
    it('returns undefined for an unknown agentId', async () => {
      await suite.create('a1')
      expect(await suite.store.get('missing'), 'get of an unknown agentId returns undefined').toBeUndefined()
    })

    it('returns the activity only when its metadata matches the scope', async () => {
      await suite.create('a1', { metadata: { tenant: 't1', region: 'eu' } })
      const visible = async (metadata: MetadataFilter) => (await suite.store.get('a1', { metadata }))?.agentId
      expect(await visible({ tenant: 't1' }), 'a scope on one matching key shows the activity').toBe('a1')
      expect(
        await visible({ tenant: 't1', region: 'eu' }),
        'a scope whose keys all match shows the activity',
      ).toBe('a1')
      expect(await visible({ tenant: 't2' }), 'a scope with another value hides the activity').toBeUndefined()
      expect(
        await visible({ tenant: 't1', region: 'us' }),
        'scope keys are ANDed: one mismatch hides the activity',
      ).toBeUndefined()
      expect(
        await visible({ missing: null }),
        'a null scope value does not match a missing key',
      ).toBeUndefined()
      expect(await visible({}), 'an empty scope shows the activity').toBe('a1')
    })

    it('refuses a metadata scope that is not key -> primitive, naming metadata', async () => {
      await suite.create('a1')
      await expectInvalidOptions(
        suite.store.get('a1', { metadata: { tenant: { id: 1 } } as unknown as MetadataFilter }),
        'metadata',
        'get with an object as a scope value',
      )
    })
  })
}
