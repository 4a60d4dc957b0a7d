import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterEach } from 'vitest'
import { SqliteActivityStore } from '../sqlite-store.js'

/**
 * Database files in temporary directories and stores on them, all closed and removed after each
 * test of the file that calls this (at its top level).
 */
export function useTempDatabases() {
  const directories: string[] = []
  const stores: SqliteActivityStore[] = []
  const connections: DatabaseSync[] = []

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close()
    for (const db of connections.splice(0)) if (db.isOpen) db.close()
    for (const directory of directories.splice(0)) fs.rmSync(directory, { recursive: true, force: true })
  })

  return {
    /** A database path in a new temporary directory. */
    tempDatabase(): string {
      const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-sqlite-'))
      directories.push(directory)
      return path.join(directory, 'activities.db')
    },
    /** A store, closed after the test. */
    open(options: ConstructorParameters<typeof SqliteActivityStore>[0]): SqliteActivityStore {
      const store = new SqliteActivityStore(options)
      stores.push(store)
      return store
    },
    /** A raw connection for checks the store does not expose, closed after the test if still open. */
    raw(file: string): DatabaseSync {
      const db = new DatabaseSync(file)
      connections.push(db)
      return db
    },
  }
}
