import type { Activity, ActivityStatus, ActivityStore } from '@runner/core'
import type { CreateActivityInput } from '@runner/core/store'
import { moveTo, pathTo } from './fixtures.js'

/**
 * What every group of cases gets from `activityStoreConformanceSuite`: the store of the running
 * test (a new one per test) and shorthands over it.
 */
export interface StoreSuite {
  /** The store of the test that is running. */
  readonly store: ActivityStore
  /** The `maxRecordBytes` the store was created with (the suite option; 16 MiB by default). */
  readonly maxRecordBytes: number
  /** Creates an activity with defaults for what the test does not care about. */
  create(agentId: string, extra?: Partial<CreateActivityInput>): Promise<Activity>
  /**
   * Creates an activity and moves it to `status` (through `running` where the lifecycle needs it;
   * `waiting` waits for the approval of `WAITING_ON`).
   */
  createIn(agentId: string, status: ActivityStatus, extra?: Partial<CreateActivityInput>): Promise<Activity>
  /** The agentIds of one large page of `list`, in list order. */
  listIds(options?: Parameters<ActivityStore['list']>[0]): Promise<string[]>
}

/** Builds the shorthands over `current()`, the store of the running test. */
export function storeSuite(current: () => ActivityStore, maxRecordBytes: number): StoreSuite {
  const create: StoreSuite['create'] = (agentId, extra = {}) =>
    current().create({ agentId, agentType: 'test', message: 'Waiting to start', ...extra })
  return {
    get store() {
      return current()
    },
    maxRecordBytes,
    create,
    async createIn(agentId, status, extra = {}) {
      await create(agentId, extra)
      for (const step of pathTo[status]) await current().append(agentId, moveTo(step))
      return (await current().get(agentId))!
    },
    async listIds(options = {}) {
      return (await current().list({ limit: 1000, ...options })).items.map((item) => item.agentId)
    },
  }
}
