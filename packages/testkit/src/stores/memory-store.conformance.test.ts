import { MemoryActivityStore } from '@runner/core'
import { activityStoreConformanceSuite } from './activity-store-suite.js'

activityStoreConformanceSuite({ name: 'MemoryActivityStore', createStore: () => new MemoryActivityStore() })
