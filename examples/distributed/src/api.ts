/**
 * The API process: it enqueues research tasks, watches their progress from the activity store
 * (pushed across processes by PostgreSQL LISTEN/NOTIFY), cancels one of them on a worker it never
 * talks to, and waits for the results. It never runs a task itself: it starts no worker.
 *
 *   REDIS_URL=... DATABASE_URL=... node src/api.ts [topic...]
 */
import { RunCanceledError } from '@runner/core'
import { createDistributedPool, settingsFromEnv } from './setup.ts'

const topics =
  process.argv.slice(2).length > 0
    ? process.argv.slice(2)
    : ['sea otters', 'the Voyager probes', 'sourdough starters', 'the Rosetta Stone', 'tidal power']
/** This one is canceled as soon as a worker starts it, to show a cancel crossing processes. */
const changeOfMind = 'a topic we change our mind about'

const settings = settingsFromEnv()
const { pool, store, activity, tasks } = createDistributedPool(settings)
const labels = new Map<string, string>()

// Watch first, so that no update is missed.
const watching = new AbortController()
const watched = (async () => {
  for await (const event of activity.watch({}, watching.signal)) {
    const label = labels.get(event.agentId)
    if (!label || event.activity.status === 'queued') continue
    const { status, percentage } = event.activity
    console.log(
      `  ${label.padEnd(34)} ${String(percentage).padStart(3)}%  ${status.padEnd(8)} ${event.entry.message}`,
    )
    if (label === changeOfMind && status === 'running' && event.entry.message === 'Started') {
      void pool.cancel(event.agentId).then((canceled) => console.log(`  (cancel of "${label}": ${canceled})`))
    }
  }
})()

const enqueued: Array<{ topic: string; agentId: string }> = []
for (const [index, topic] of [...topics, changeOfMind].entries()) {
  // The first topic is urgent: a higher priority runs first.
  const { agentId } = await tasks.research.enqueue({ topic }, { priority: index === 0 ? 10 : 0 })
  labels.set(agentId, topic)
  enqueued.push({ topic, agentId })
}
console.log(
  `api: enqueued ${enqueued.length} tasks on queue "${settings.queueName}" (${enqueued[0]?.topic} first); progress, as the workers report it:`,
)

let failed = 0
for (const { topic, agentId } of enqueued) {
  try {
    const result = await tasks.research.result(agentId, { timeoutMs: 120_000 })
    console.log(`✔ ${topic}: ${result.summary} (worker ${result.workerPid}, ${result.turns} turns)`)
  } catch (error) {
    if (RunCanceledError.isInstance(error)) {
      console.log(`✖ ${topic}: canceled`)
    } else {
      failed++
      console.log(`✖ ${topic}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
}
console.log(
  `api: ${enqueued.length - failed} of ${enqueued.length} ended as expected; ${await activity.countActive()} still active`,
)

watching.abort()
await watched
await pool.close()
await store.close()
process.exitCode = failed === 0 ? 0 : 1
