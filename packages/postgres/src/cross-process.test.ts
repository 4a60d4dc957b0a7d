import type { ActivityLogEntry } from '@runner/core'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { PostgresActivityStore } from './index.js'
import { Child } from './test-helpers/child.js'
import { adminPool, databaseUrl, dropSchema, endAdminPool, freshSchema } from './test-helpers/database.js'

const children: Child[] = []
const schemas: string[] = []

afterEach(async () => {
  for (const child of children.splice(0)) child.kill()
  for (const schema of schemas.splice(0)) await dropSchema(schema)
})

afterAll(endAdminPool)

interface PrintedEvent {
  agentId: string
  status: string
  message: string
  percentage: number
  entry: ActivityLogEntry
}

describe.skipIf(!databaseUrl)('PostgresActivityStore across processes (DATABASE_URL)', () => {
  it('two processes watching the store both see every update of a third, in order, once each', async () => {
    const schema = freshSchema('xproc')
    schemas.push(schema)
    // Create the schema first, so the watchers and the writer all start on a ready database.
    const setup = new PostgresActivityStore({ connectionString: databaseUrl!, schema })
    await setup.countActive()
    await setup.close()

    const activities = 8
    const updates = 12
    const total = activities * (updates + 2)
    const watchers = [0, 1].map(() => new Child('./watch-child.ts', [schema, String(total)]))
    children.push(...watchers)
    await Promise.all(watchers.map((watcher) => watcher.waitForLine('ready', 30_000)))

    const writer = new Child('./write-child.ts', [schema, String(activities), String(updates)])
    children.push(writer)
    expect(await writer.exit(60_000), writer.stderr).toBe(0)
    for (const watcher of watchers) expect(await watcher.exit(60_000), watcher.stderr).toBe(0)

    // The log in commit order: what every watcher must have printed, in this order.
    const { rows } = await adminPool().query<{ agent_id: string; message: string }>(
      `SELECT agent_id, message FROM "${schema}".activity_log ORDER BY id`,
    )
    const committed = rows.map((row) => `${row.agent_id}:${row.message}`)
    expect(committed).toHaveLength(total)

    const printed = watchers.map((watcher) =>
      watcher.lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as PrintedEvent),
    )
    for (const events of printed) {
      const keys = events.map((event) => `${event.agentId}:${event.message}`)
      expect(keys, 'every update, once, in commit order').toEqual(committed)
      for (let index = 0; index < activities; index++) {
        const own = events.filter((event) => event.agentId === `task-${index}`)
        expect(own.map((event) => event.message)).toEqual([
          'queued',
          ...Array.from({ length: updates }, (_, step) => `step ${step + 1}`),
          'done',
        ])
        // Each event carries the activity as it was right after that change.
        expect(own.map((event) => event.percentage)).toEqual([
          0,
          ...Array.from({ length: updates }, (_, step) => step + 1),
          100,
        ])
        // The structured fields cross processes: attempt and kind where written, no key elsewhere.
        expect(
          own.map((event) => [
            event.entry.attempt ?? 'none',
            event.entry.kind ?? 'none',
            Object.keys(event.entry).length,
          ]),
        ).toEqual([
          ['none', 'lifecycle', 5],
          ...Array.from({ length: updates }, () => [1, 'progress', 6]),
          ['none', 'lifecycle', 5],
        ])
      }
    }
  }, 120_000)
})
