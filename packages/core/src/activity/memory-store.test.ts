import { MemoryActivityStore } from './memory-store.js'
import { describeActivityStore } from './test-helpers/store-contract.js'

describeActivityStore('MemoryActivityStore', () => new MemoryActivityStore())
