/**
 * Child process of the pipeline tests: a pool on the SQLite file `argv[2]` (durable local engine,
 * short leases) with the task `report`, a pipeline of three steps. Every execution of a step is
 * recorded in the table `steps` of the same file. `argv[3]`: `enqueue` enqueues one task first
 * (agentId `p1`) and prints `enqueued`; `crash` makes the second step kill this process
 * (SIGKILL) the first time it runs; `work` only works. Exits 0 once no task of the file is
 * unfinished.
 *
 * Node runs this file with type stripping; it loads the package as built (`dist/`, which the
 * test command builds first), as an application would.
 */

const { DatabaseSync } = await import('node:sqlite')
const { z } = await import('zod')
const { SqliteActivityStore } = await import('../../../dist/sqlite/sqlite-store.js')
const { createActivityTracker } = await import('../../../dist/activity/tracker.js')
const { createPool } = await import('../../../dist/pool/create-pool.js')
const { localEngine } = await import('../../../dist/pool/local-engine.js')
const { pipeline } = await import('../../../dist/pool/pipeline.js')

const [path, ...modes] = process.argv.slice(2)
if (!path) throw new Error('usage: pipeline-process.ts <database file> [enqueue] [crash] [work]')

const store = new SqliteActivityStore({ path })
const activity = createActivityTracker({ store })
const record = new DatabaseSync(path, { timeout: 5000 })
record.exec('CREATE TABLE IF NOT EXISTS steps (name TEXT NOT NULL, pid INTEGER NOT NULL)')
const insert = record.prepare('INSERT INTO steps (name, pid) VALUES (?, ?)')
const ran = (name: string) => insert.run(name, process.pid)

const pool = createPool({ activity, engine: localEngine({ leaseMs: 300, pollMs: 50 }), concurrency: 1 })
pool.task(
  'report',
  { input: z.object({ topic: z.string() }) },
  pipeline<{ topic: string }>()
    .step('search', ({ topic }) => {
      ran('search')
      return { topic, links: [`https://example.org/${topic}`] }
    })
    .step('read', async (found) => {
      ran('read')
      if (modes.includes('crash')) process.kill(process.pid, 'SIGKILL')
      await new Promise((resolve) => setTimeout(resolve, 10))
      return { topic: found.topic, notes: found.links.map((link) => `notes on ${link}`) }
    })
    .step('write', (read) => {
      ran('write')
      return `${read.topic}: ${read.notes.join('; ')}`
    }),
)

if (modes.includes('enqueue')) {
  await pool.enqueue('report', { topic: 'otters' }, { agentId: 'p1' })
  process.stdout.write('enqueued\n')
}
for (;;) {
  const active = await store.countActive()
  if (active === 0) break
  await new Promise((resolve) => setTimeout(resolve, 50))
}
await pool.close()
store.close()
record.close()
