import { MemoryActivityStore } from '@runner/core'
import { activityStoreConformanceSuite } from './activity-store-suite.js'

/** A small limit keeps the size-limit cases fast; the suite is told the same number. */
const maxRecordBytes = 64 * 1024

activityStoreConformanceSuite({
  name: 'MemoryActivityStore',
  createStore: () => new MemoryActivityStore({ maxRecordBytes }),
  maxRecordBytes,
})
