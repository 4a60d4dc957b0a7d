import type { ActivityStore } from '@runner/core'
import { DEFAULT_MAX_RECORD_BYTES } from '@runner/core/store'
import { afterEach, beforeEach, describe } from 'vitest'
import { appendCases } from './activity-store-cases/append.js'
import { closeCases } from './activity-store-cases/close.js'
import { storeSuite } from './activity-store-cases/context.js'
import { countActiveCases } from './activity-store-cases/count-active.js'
import { createCases } from './activity-store-cases/create.js'
import { decideCases } from './activity-store-cases/decide.js'
import { documentCases } from './activity-store-cases/documents.js'
import { errorText } from './activity-store-cases/expectations.js'
import { getCases } from './activity-store-cases/get.js'
import { isolationCases } from './activity-store-cases/isolation.js'
import { jobQueueCases } from './activity-store-cases/job-queue.js'
import { listCases } from './activity-store-cases/list.js'
import { logEntryFieldsCases } from './activity-store-cases/log-entry-fields.js'
import { metadataScopeCases } from './activity-store-cases/metadata-scope.js'
import { recordLimitCases } from './activity-store-cases/record-limits.js'
import { runRecordCases } from './activity-store-cases/run-record.js'
import { textAndKeyCases } from './activity-store-cases/text-and-keys.js'
import { trajectoryCases } from './activity-store-cases/trajectory.js'
import { waitingCases } from './activity-store-cases/waiting.js'
import { watchCases } from './activity-store-cases/watch.js'

/** What `activityStoreConformanceSuite` needs to test one `ActivityStore` implementation. */
export interface ActivityStoreConformanceSuiteOptions {
  /** Names the implementation in the test titles, such as `'SqliteActivityStore'`. */
  name: string
  /**
   * Returns a new, empty store. Called before every test; the suite closes the store after the
   * test (and some tests close it themselves first, so `close` must be idempotent).
   */
  createStore: () => ActivityStore | Promise<ActivityStore>
  /**
   * Releases what `createStore` set up besides the store: a temporary file, a database schema, a
   * connection pool. Called after every test, after `store.close()`, even when the test failed.
   * Default: nothing.
   */
  closeStore?: (store: ActivityStore) => void | Promise<void>
  /**
   * The `maxRecordBytes` that `createStore` gave the store (the largest checkpoint, journal entry
   * or document it accepts), so that the size-limit cases know where the limit is. Pass a small
   * one (64 KiB, say; at least 4 KiB) to keep those cases fast. Default: the stores' default,
   * `DEFAULT_MAX_RECORD_BYTES` (16 MiB).
   */
  maxRecordBytes?: number
}

/** The methods of `ActivityStore`, checked on what `createStore` returns. */
const STORE_METHODS = [
  'create',
  'append',
  'get',
  'list',
  'countActive',
  'saveTrajectory',
  'getTrajectory',
  'saveCheckpoint',
  'recordToolCall',
  'decide',
  'getRun',
  'watch',
  'close',
] as const

/** The methods of the optional parts, checked when the store has them. */
const PART_METHODS = {
  jobQueue: ['push', 'claim', 'renew', 'remove', 'nextReadyAt'],
  documents: ['put', 'putMany', 'get', 'list', 'deletePrefix'],
} as const

/**
 * Registers, as vitest tests, the behaviour every `ActivityStore` must have: one call per
 * implementation, in that implementation's test file.
 *
 * ```ts
 * import { MemoryActivityStore } from '@runner/core'
 * import { activityStoreConformanceSuite } from '@runner/testkit'
 *
 * activityStoreConformanceSuite({ name: 'MemoryActivityStore', createStore: () => new MemoryActivityStore() })
 * ```
 *
 * Covers create, append and every status move (`waiting` included), get, list (order, filters,
 * metadata scopes, pagination), countActive, trajectories, watch, the structured fields of log
 * entries (`attempt`, `kind`), the durable run record (pending requests, checkpoints, the journal,
 * results, size limits, decisions), the job queue and the document table when the store has them,
 * the text policy (NUL and lone surrogates refused in ids, metadata and filters, replaced by
 * U+FFFD in messages and the JSON the runner produces), reserved metadata keys and the limits on
 * metadata, the isolation of returned objects and close. Each group of cases lives in its own file
 * under `activity-store-cases/`, and every assertion names the clause of the contract it checks.
 * Only the public `ActivityStore` interface is used, and errors are recognised with `isInstance`,
 * so the suite holds for stores built against another copy of `@runner/core`.
 */
export function activityStoreConformanceSuite({
  name,
  createStore,
  closeStore,
  maxRecordBytes = DEFAULT_MAX_RECORD_BYTES,
}: ActivityStoreConformanceSuiteOptions): void {
  describe(`ActivityStore conformance: ${name}`, () => {
    let store: ActivityStore
    /** Whether `createStore` returned, and whether what it returned can be closed. */
    let returned = false
    let closable = false

    beforeEach(async () => {
      returned = false
      closable = false
      try {
        store = await createStore()
        returned = true
      } catch (error) {
        throw new Error(`${name}: createStore() threw before the test could run: ${errorText(error)}`, {
          cause: error,
        })
      }
      const missing = STORE_METHODS.filter(
        (method) => typeof (store as unknown as Record<string, unknown> | undefined)?.[method] !== 'function',
      )
      if (missing.length > 0) {
        throw new Error(
          `${name}: createStore() must return an ActivityStore, but what it returned has no ${missing.join(', ')} method.`,
        )
      }
      closable = true
      for (const [part, methods] of Object.entries(PART_METHODS)) {
        const value = (store as unknown as Record<string, unknown>)[part]
        if (value === undefined) continue
        const absent = methods.filter(
          (method) => typeof (value as Record<string, unknown> | null)?.[method] !== 'function',
        )
        if (absent.length > 0) {
          throw new Error(`${name}: the store's ${part} has no ${absent.join(', ')} method.`)
        }
      }
      const { total } = await store.list({ limit: 1 })
      if (total !== 0) {
        throw new Error(
          `${name}: createStore() must return a new, empty store for every test, but this one already holds ${total} activit${total === 1 ? 'y' : 'ies'}.`,
        )
      }
    })

    afterEach(async () => {
      if (!returned) return
      try {
        if (closable) await store.close()
      } finally {
        await closeStore?.(store)
      }
    })

    const suite = storeSuite(() => store, maxRecordBytes)
    createCases(suite)
    appendCases(suite)
    getCases(suite)
    listCases(suite)
    metadataScopeCases(suite)
    countActiveCases(suite)
    trajectoryCases(suite)
    watchCases(suite)
    logEntryFieldsCases(suite)
    waitingCases(suite)
    runRecordCases(suite)
    recordLimitCases(suite)
    decideCases(suite)
    jobQueueCases(suite)
    documentCases(suite)
    textAndKeyCases(suite)
    isolationCases(suite)
    closeCases(suite)
  })
}
