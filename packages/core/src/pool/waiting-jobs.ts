import type { ActivityStore, JsonValue } from '../activity/types.js'
import type { PoolJob } from './types.js'

/** Where a waiting task's job is kept until its decisions come: the store's document table. */
const NAMESPACE = 'runner.pool.waiting-jobs'

/** For a store without a document table: this process only. */
const inProcess = new WeakMap<ActivityStore, Map<string, PoolJob>>()

/** Keeps the job of a task that suspended, so that any process can submit it again. */
export async function saveWaitingJob(store: ActivityStore, job: PoolJob): Promise<void> {
  if (store.documents) {
    await store.documents.put(NAMESPACE, job.agentId, job as unknown as JsonValue)
    return
  }
  let jobs = inProcess.get(store)
  if (!jobs) {
    jobs = new Map()
    inProcess.set(store, jobs)
  }
  jobs.set(job.agentId, job)
}

/** The job of a waiting task, if it is kept. */
export async function waitingJob(store: ActivityStore, agentId: string): Promise<PoolJob | undefined> {
  if (store.documents) return (await store.documents.get(NAMESPACE, agentId)) as PoolJob | undefined
  return inProcess.get(store)?.get(agentId)
}

/** Forgets the job of a task that no longer waits. */
export async function forgetWaitingJob(store: ActivityStore, agentId: string): Promise<void> {
  if (store.documents) await store.documents.deletePrefix(NAMESPACE, agentId).catch(() => 0)
  else inProcess.get(store)?.delete(agentId)
}
