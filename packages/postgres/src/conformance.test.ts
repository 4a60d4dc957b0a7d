import type { ActivityStore } from '@runner/core'
import { activityStoreConformanceSuite } from '@runner/testkit'
import { afterAll, describe } from 'vitest'
import { PostgresActivityStore } from './index.js'
import { databaseUrl, dropSchema, endAdminPool, freshSchema } from './test-helpers/database.js'

afterAll(endAdminPool)

// Each test's own waits are the suite's; the overall limit is generous for shared CI machines.
describe.skipIf(!databaseUrl)('PostgresActivityStore (DATABASE_URL)', { timeout: 30_000 }, () => {
  activityStoreConformanceSuite({
    name: 'PostgresActivityStore',
    // A fresh schema per store: created on first use, dropped after the test.
    createStore: () =>
      new PostgresActivityStore({ connectionString: databaseUrl!, schema: freshSchema('conf') }),
    closeStore: (store: ActivityStore) => dropSchema((store as PostgresActivityStore).schema),
  })
})
