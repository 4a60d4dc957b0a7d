import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { PostgresActivityStore } from './index.js'
import { Child } from './test-helpers/child.js'
import { adminPool, databaseUrl, dropSchema, endAdminPool, freshSchema } from './test-helpers/database.js'
import { eventually } from './test-helpers/stores.js'

const children: Child[] = []
const schemas: string[] = []

afterEach(async () => {
  for (const child of children.splice(0)) child.kill()
  for (const schema of schemas.splice(0)) await dropSchema(schema)
})

afterAll(endAdminPool)

describe.skipIf(!databaseUrl)('PostgresActivityStore killed during batched writes (DATABASE_URL)', () => {
  // Killed after a different number of resolved calls each time: early, mid-way, later.
  it.each([60, 250, 600])(
    'keeps every write whose promise resolved, and every activity agrees with its log (SIGKILL after %i lines)',
    async (killAfter) => {
      const schema = freshSchema('kill')
      schemas.push(schema)
      const child = new Child('./kill-child.ts', [schema, '24'])
      children.push(child)
      await child.waitForLine('ready', 30_000)
      await eventually(() => child.lines.length > killAfter, `the child resolved ${killAfter} calls`, 60_000)
      child.kill()
      await child.exited
      const printed = [...child.lines]

      const store = new PostgresActivityStore({ connectionString: databaseUrl!, schema })
      try {
        // Every printed call is in the store.
        for (const line of printed) {
          const [what, agentId, step] = line.split(' ')
          if (what === 'ready' || what === '') continue
          const activity = await store.get(agentId!)
          expect(activity, `${line}: the activity exists`).toBeDefined()
          const messages = activity!.log.map((entry) => entry.message)
          if (what === 'created') expect(messages[0], line).toBe('queued')
          if (what === 'appended') expect(messages, line).toContain(`step ${step}`)
          if (what === 'completed') expect(activity!.status, line).toBe('complete')
        }
        // Every activity's row is what its log says, whatever the kill cut off.
        const { rows } = await adminPool().query<{ agent_id: string }>(
          `SELECT agent_id FROM "${schema}".activities ORDER BY seq`,
        )
        expect(rows.length).toBeGreaterThan(0)
        for (const { agent_id: agentId } of rows) {
          const activity = (await store.get(agentId))!
          const last = activity.log.at(-1)!
          expect(
            {
              status: activity.status,
              message: activity.message,
              updatedAt: activity.updatedAt,
              percentage: activity.percentage,
            },
            `${agentId}: the row is its last log entry`,
          ).toEqual({
            status: last.status,
            message: last.message,
            updatedAt: last.at,
            percentage: last.percentage ?? 0,
          })
          expect(
            activity.log.map((entry) => entry.message),
            `${agentId}: the log is a prefix of the writer's sequence`,
          ).toEqual(
            ['queued', 'step 1', 'step 2', 'step 3', 'step 4', 'step 5', 'done'].slice(
              0,
              activity.log.length,
            ),
          )
        }
        const { rows: mismatched } = await adminPool().query(
          `SELECT a.agent_id FROM "${schema}".activities a
           WHERE a.last_log_id <> (SELECT max(l.id) FROM "${schema}".activity_log l WHERE l.agent_id = a.agent_id)
              OR NOT EXISTS (SELECT 1 FROM "${schema}".activity_metadata m WHERE m.seq = a.seq AND m.status = a.status)`,
        )
        expect(mismatched, 'last_log_id and the metadata index agree with each row').toEqual([])
      } finally {
        await store.close()
      }
    },
    120_000,
  )
})
