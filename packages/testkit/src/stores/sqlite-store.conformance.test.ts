import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { ActivityStore } from '@runner/core'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { activityStoreConformanceSuite } from './activity-store-suite.js'

/** The temporary directory of each store's database file, removed after its test. */
const directories = new Map<ActivityStore, string>()

/** A small limit keeps the size-limit cases fast; the suite is told the same number. */
const maxRecordBytes = 64 * 1024

activityStoreConformanceSuite({
  name: 'SqliteActivityStore',
  createStore: () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-sqlite-conformance-'))
    const store = new SqliteActivityStore({ path: path.join(directory, 'activities.db'), maxRecordBytes })
    directories.set(store, directory)
    return store
  },
  closeStore: (store) => {
    const directory = directories.get(store)
    directories.delete(store)
    if (directory) fs.rmSync(directory, { recursive: true, force: true })
  },
  maxRecordBytes,
})
