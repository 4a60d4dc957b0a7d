import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { type ActivityStore, MemoryActivityStore } from '@runner/core'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { PostgresActivityStore } from '@runner/postgres'
import pg from 'pg'

/** One kind of activity store a checkpointer test runs on, or why it cannot. */
export interface StoreUnderTest {
  name: string
  /** A new store (a fresh file, a fresh schema). */
  open(): ActivityStore
  /** Closes it and removes what it left (the file, the schema). */
  close(store: ActivityStore): Promise<void>
  /** Why this store is not tested here, when it is not. */
  skip?: string
}

const databaseUrl = process.env.DATABASE_URL || undefined

function sqlite(): StoreUnderTest {
  const directories = new Map<ActivityStore, string>()
  const open = () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-langgraph-'))
    const store = new SqliteActivityStore(path.join(directory, 'activities.db'))
    directories.set(store, directory)
    return store
  }
  const close = async (store: ActivityStore) => {
    await store.close()
    const directory = directories.get(store)
    directories.delete(store)
    if (directory) fs.rmSync(directory, { recursive: true, force: true })
  }
  return { name: 'SqliteActivityStore', open, close }
}

function postgres(): StoreUnderTest {
  const name = 'PostgresActivityStore'
  const open = () =>
    new PostgresActivityStore({
      connectionString: databaseUrl as string,
      schema: `runner_lgcp_${process.pid}_${randomBytes(4).toString('hex')}`,
    })
  const close = async (store: ActivityStore) => {
    await store.close()
    const admin = new pg.Client({ connectionString: databaseUrl })
    await admin.connect()
    try {
      await admin.query(`DROP SCHEMA IF EXISTS "${(store as PostgresActivityStore).schema}" CASCADE`)
    } finally {
      await admin.end()
    }
  }
  return databaseUrl ? { name, open, close } : { name, open, close, skip: 'DATABASE_URL is not set' }
}

/** Every store of this project, each with its reason when it cannot be tested here. */
export function storesUnderTest(): StoreUnderTest[] {
  return [
    { name: 'MemoryActivityStore', open: () => new MemoryActivityStore(), close: (store) => store.close() },
    sqlite(),
    postgres(),
  ]
}
