/**
 * Child process of the durable fairness tests: a pool of `@runner/core` on a
 * `PostgresActivityStore` of schema `argv[2]` (default local engine: the durable queue in the
 * schema) whose task `work` has `concurrency: { key: tenant, limit: 1 }`. Modes (`argv[3]`):
 *
 * - `share <markers dir> <total> [enqueue:<tenants>x<per tenant>]`: concurrency 2; each task
 *   creates the file `<markers dir>/<tenant>` exclusively while it runs (a second task of the
 *   tenant running at once, in any process, finds it there) and prints `ran <agentId> <overlapped
 *   0|1>`. Prints `ready` once started (and enqueued); exits 0 once `total` tasks are complete in
 *   the schema and nothing is unfinished.
 * - `hold`: enqueues `hold-1` and `hold-2` of tenant `held`, prints `started <agentId>` when a
 *   task starts, and never finishes one (the test kills it).
 */
// Registers the .js -> .ts resolve hook before the sources load (a computed URL: tsc leaves it alone).
await import(new URL('./load-source.ts', import.meta.url).href)

const { closeSync, openSync, unlinkSync } = await import('node:fs')
const { join } = await import('node:path')
const { z } = await import('zod')
const { createActivityTracker, createPool, localEngine } = await import('@runner/core')
const { PostgresActivityStore } = await import('../index.js')

const [schema, mode, ...rest] = process.argv.slice(2)
if (!schema || !mode) throw new Error('usage: fair-pool-child.ts <schema> share|hold ...')

const store = new PostgresActivityStore({ connectionString: process.env.DATABASE_URL!, schema })
const activity = createActivityTracker({ store })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const byTenant = (_: unknown, metadata: Record<string, unknown>) => String(metadata.tenant)

if (mode === 'share') {
  const [markers, totalText, enqueue] = rest
  const total = Number(totalText)
  const pool = createPool({ activity, concurrency: 2, engine: localEngine({ leaseMs: 5000, pollMs: 20 }) })
  pool.task(
    'work',
    { input: z.number(), concurrency: { key: byTenant, limit: 1 } },
    async ({ agentId, metadata }) => {
      const marker = join(markers as string, String(metadata.tenant))
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
      process.stdout.write(`ran ${agentId} ${overlapped}\n`)
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
  for (;;) {
    const complete = (await store.list({ status: 'complete', limit: 1 })).total
    if (complete >= total && (await activity.countActive()) === 0) break
    await sleep(50)
  }
  await pool.close({ timeoutMs: 5000 })
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
