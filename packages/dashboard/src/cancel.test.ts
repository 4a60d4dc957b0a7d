import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createDashboard } from './app.js'
import { cancelRun } from './cancel.js'

describe('cancelRun, and the cancel route that uses it (no pool)', () => {
  let directory: string
  let store: SqliteActivityStore
  beforeEach(async () => {
    directory = mkdtempSync(join(tmpdir(), 'runner-cancel-'))
    store = new SqliteActivityStore({ path: join(directory, 'runs.db') })
    await store.create({ agentId: 'run-1', agentType: 'research', message: 'Queued' })
    await store.append('run-1', { status: 'running', message: 'Searching', percentage: 30 })
  })
  afterEach(async () => {
    await store.close()
    rmSync(directory, { recursive: true, force: true })
  })

  it('marks the run canceled in the store with the message given; the writer is refused next', async () => {
    const activity = await store.get('run-1')
    const outcome = await cancelRun(store, activity!, { message: 'Canceled by ops' })
    expect(outcome).toEqual({ canceled: true, status: 'canceled' })
    expect((await store.get('run-1'))?.log.at(-1)).toMatchObject({
      status: 'canceled',
      message: 'Canceled by ops',
      kind: 'lifecycle',
    })
    await expect(store.append('run-1', { status: 'running', message: 'Still here' })).rejects.toThrow()
    // Read before the cancel: the store refuses the second move, and the outcome says nothing was canceled.
    expect(await cancelRun(store, activity!, { message: 'again' })).toEqual({ canceled: false })
    // Read after: the run has ended.
    expect(await cancelRun(store, (await store.get('run-1'))!, { message: 'again' })).toEqual({
      canceled: false,
      status: 'canceled',
    })
  })

  it('the route answers as before: { canceled, status }, then { canceled: false, status } once ended', async () => {
    const dashboard = createDashboard({ activity: store })
    const cancel = () =>
      dashboard.fetch(new Request('http://localhost/api/runs/run-1/cancel', { method: 'POST' }))
    const first = await cancel()
    expect(first.status).toBe(200)
    expect(await first.json()).toEqual({ canceled: true, status: 'canceled' })
    expect((await store.get('run-1'))?.message).toBe('Canceled from the dashboard')
    expect(await (await cancel()).json()).toEqual({ canceled: false, status: 'canceled' })
    const unknown = await dashboard.fetch(
      new Request('http://localhost/api/runs/nope/cancel', { method: 'POST' }),
    )
    expect(unknown.status).toBe(404)
  })
})
