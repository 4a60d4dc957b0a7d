import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { MemoryActivityStore } from '../activity/memory-store.js'
import { ConfigError } from '../errors/config-error.js'
import { SqliteActivityStore } from '../sqlite/sqlite-store.js'
import { loadConfig } from './load-config.js'
import { openStore } from './open-store.js'

describe('openStore', () => {
  it('opens the SQLite file RUNNER_STORE_URL names, and it keeps what is written', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'runner-open-store-')), 'runs.db')
    const config = loadConfig({ RUNNER_STORE_URL: `sqlite:${file}` })
    const store = await openStore(config.store)
    expect(store).toBeInstanceOf(SqliteActivityStore)
    await store.create({ agentId: 'a', agentType: 't', message: 'Waiting' })
    await store.close()
    const again = await openStore(config.store, { sharedBy: 'the dashboard' })
    expect((await again.get('a'))?.message).toBe('Waiting')
    await again.close()
  })

  it('gives a memory store, or refuses one naming who needs a shared store', async () => {
    const config = loadConfig({})
    expect(await openStore(config.store)).toBeInstanceOf(MemoryActivityStore)
    const error = await openStore(config.store, { sharedBy: 'the dashboard' }).catch(
      (caught: unknown) => caught,
    )
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).message).toMatch(
      /RUNNER_STORE_URL: .*the dashboard needs the activity store/,
    )
  })
})
