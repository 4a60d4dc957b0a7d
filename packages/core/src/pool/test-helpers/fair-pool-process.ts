/**
 * Child process of the durable fairness tests: a pool on the SQLite file `argv[2]` (default local
 * engine: the durable queue in the file) whose task `work` has `concurrency: { key: tenant,
 * limit: 1 }`. Modes (`argv[3]`):
 *
 * - `share <markers dir> <total> [enqueue:<tenants>x<per tenant>]`: concurrency 2; each task
 *   creates the file `<markers dir>/<tenant>` exclusively while it runs (a second task of the
 *   tenant running at once, in any process, finds it there), and records its run in the table
 *   `runs` of the same file. Prints `ready` once started (and enqueued); exits 0 once `total`
 *   runs are recorded and nothing is unfinished.
 * - `hold`: enqueues `hold-1` and `hold-2` of tenant `held`, prints `started <agentId>` when a
 *   task starts, and never finishes one (the test kills it).
 *
 * Node runs this file with type stripping; it loads the package as built (`dist/`), as an
 * application would.
 */

const { closeSync, openSync, unlinkSync } = await import('node:fs')
const { join } = await import('node:path')
const { DatabaseSync } = await import('node:sqlite')
const { z } = await import('zod')
const { SqliteActivityStore } = await import('../../../dist/sqlite/sqlite-store.js')
const { createActivityTracker } = await import('../../../dist/activity/tracker.js')
const { createPool } = await import('../../../dist/pool/create-pool.js')
const { localEngine } = await import('../../../dist/pool/local-engine.js')

const [path, mode, ...rest] = process.argv.slice(2)
if (!path || !mode) throw new Error('usage: fair-pool-process.ts <database file> share|hold ...')

const store = new SqliteActivityStore({ path, busyTimeoutMs: 30_000 })
const activity = createActivityTracker({ store })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const byTenant = (_: unknown, metadata: Record<string, unknown>) => String(metadata.tenant)

if (mode === 'share') {
  const [markers, totalText, enqueue] = rest
  const total = Number(totalText)
  const record = new DatabaseSync(path, { timeout: 30_000 })
  record.exec(
    'CREATE TABLE IF NOT EXISTS runs (agent_id TEXT NOT NULL, tenant TEXT NOT NULL, pid INTEGER NOT NULL, overlapped INTEGER NOT NULL)',
  )
  const insert = record.prepare('INSERT INTO runs (agent_id, tenant, pid, overlapped) VALUES (?, ?, ?, ?)')
  const pool = createPool({ activity, concurrency: 2, engine: localEngine({ leaseMs: 5000, pollMs: 20 }) })
  pool.task(
    'work',
    { input: z.number(), concurrency: { key: byTenant, limit: 1 } },
    async ({ agentId, metadata }) => {
      const tenant = String(metadata.tenant)
      const marker = join(markers as string, tenant)
      let overlapped = 0
      let fd: number | undefined
      try {
        fd = openSync(marker, 'wx')
      } catch {
        overlapped = 1
      }
      await sleep(30)
      if (fd !== undefined) {
        closeSync(fd)
        unlinkSync(marker)
      }
      insert.run(agentId, tenant, process.pid, overlapped)
      return null
    },
  )
  if (enqueue?.startsWith('enqueue:')) {
    const [tenants, perTenant] = enqueue.slice('enqueue:'.length).split('x').map(Number)
    const jobs = []
    for (let index = 0; index < (perTenant as number); index++)
      for (let tenant = 0; tenant < (tenants as number); tenant++)
        jobs.push({ task: 'work', input: index, options: { metadata: { tenant: `t${tenant}` } } })
    await pool.enqueueMany(jobs)
  }
  process.stdout.write('ready\n')
  const count = record.prepare('SELECT count(*) AS n FROM runs')
  for (;;) {
    if ((count.get()?.n as number) >= total && (await activity.countActive()) === 0) break
    await sleep(50)
  }
  await pool.close({ timeoutMs: 5000 })
  record.close()
  await store.close()
  process.stdout.write('finished\n')
} else if (mode === 'hold') {
  // The engine's timers do not keep a process alive: this one stays until it is killed.
  setInterval(() => {}, 1000)
  const pool = createPool({ activity, concurrency: 2, engine: localEngine({ leaseMs: 600, pollMs: 20 }) })
  pool.task(
    'work',
    { input: z.number(), concurrency: { key: byTenant, limit: 1 } },
    async ({ agentId, signal }) => {
      process.stdout.write(`started ${agentId}\n`)
      await new Promise((resolve) => signal.addEventListener('abort', resolve))
      return null
    },
  )
  for (const index of [1, 2])
    await pool.enqueue('work', index, { agentId: `hold-${index}`, metadata: { tenant: 'held' } })
} else {
  throw new Error(`unknown mode ${mode}`)
}
