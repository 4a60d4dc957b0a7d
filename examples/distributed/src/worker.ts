/**
 * A worker process: it runs the research tasks of the queue, at most 2 at once. Start as many as
 * you like, on as many machines (same REDIS_URL and DATABASE_URL). SIGTERM or Ctrl-C stops it
 * gracefully: running tasks get 10 s to finish, then they are canceled (never left running).
 *
 *   REDIS_URL=... DATABASE_URL=... node src/worker.ts
 *
 * The same, without this file: `runner-worker src/tasks.ts --queue research` with RUNNER_REDIS_URL
 * and RUNNER_STORE_URL=postgres://...?schema=runner_distributed.
 */
import { startWorker } from '@runner/bullmq'
import { createDistributedPool, settingsFromEnv } from './setup.ts'

const { pool, store } = createDistributedPool(settingsFromEnv(), 2)
const worker = await startWorker({
  pool,
  shutdownTimeoutMs: 10_000,
  onShutdown: async () => {
    await store.close()
    console.log(`worker ${process.pid}: stopped`)
  },
})
console.log(`worker ${process.pid}: ready (${worker.id}, concurrency ${worker.concurrency})`)
