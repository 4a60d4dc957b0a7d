/**
 * Child process of the cross-process test: on schema `argv[2]`, creates `argv[3]` activities and
 * moves them all at once (concurrent writers, one connection each from the pool): `argv[4]`
 * running updates each (progress entries of attempt 1), then `complete` (a lifecycle entry without
 * an attempt). Prints `done` and exits.
 */
// Registers the .js -> .ts resolve hook before the sources load (a computed URL: tsc leaves it alone).
await import(new URL('./load-source.ts', import.meta.url).href)

const { PostgresActivityStore } = await import('../index.js')

const [schema, activitiesText, updatesText] = process.argv.slice(2)
const activities = Number(activitiesText)
const updates = Number(updatesText)
if (!schema || !Number.isInteger(activities) || !Number.isInteger(updates)) {
  throw new Error('usage: write-child.ts <schema> <activities> <updates per activity>')
}

const store = new PostgresActivityStore({ connectionString: process.env.DATABASE_URL!, schema })
await Promise.all(
  Array.from({ length: activities }, async (_, index) => {
    const agentId = `task-${index}`
    await store.create({ agentId, agentType: 'cross-process', message: 'queued', metadata: { index } })
    for (let step = 1; step <= updates; step++) {
      await store.append(agentId, {
        status: 'running',
        message: `step ${step}`,
        percentage: step,
        attempt: 1,
        kind: 'progress',
      })
    }
    await store.append(agentId, { status: 'complete', message: 'done', percentage: 100, kind: 'lifecycle' })
  }),
)
await store.close()
process.stdout.write('done\n')
