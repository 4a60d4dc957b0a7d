import { loadConfig, openStore } from '@runner/core'
import { afterAll, describe, expect, it } from 'vitest'
import { adminPool, databaseUrl, dropSchema, endAdminPool, freshSchema } from './test-helpers/database.js'

const schema = freshSchema('open')
afterAll(async () => {
  await dropSchema(schema)
  await endAdminPool()
})

describe.skipIf(!databaseUrl)('openStore with a PostgreSQL URL (DATABASE_URL)', () => {
  it('opens this package as the caller imports it, in the schema ?schema= names', async () => {
    const url = new URL(databaseUrl as string)
    url.searchParams.set('schema', schema)
    const asked: string[] = []
    const store = await openStore(loadConfig({ RUNNER_STORE_URL: url.toString() }).store, {
      importPackage: (name) => {
        asked.push(name)
        return import(name)
      },
    })
    try {
      expect(asked).toEqual(['@runner/postgres'])
      // The package's built entry (what an application imports), not these sources.
      expect(store.constructor.name).toBe('PostgresActivityStore')
      await store.create({ agentId: 'opened', agentType: 't', message: 'Waiting' })
      // The rows went to the schema named in the URL (pg never saw ?schema=).
      const rows = await adminPool().query(`SELECT agent_id FROM "${schema}".activities`)
      expect(rows.rows.map((row: { agent_id: string }) => row.agent_id)).toEqual(['opened'])
    } finally {
      await store.close()
    }
  })
})
