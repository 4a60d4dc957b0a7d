import type { ActivityStore, JsonValue } from '../activity/types.js'
import type { PoolJob } from './types.js'

/**
 * Jobs kept in the store's document table under one namespace, so that any process can find them
 * again (a store without a document table keeps them in this process only).
 */
function jobShelf(namespace: string) {
  const inProcess = new WeakMap<ActivityStore, Map<string, PoolJob>>()
  return {
    async save(store: ActivityStore, job: PoolJob): Promise<void> {
      if (store.documents) {
        await store.documents.put(namespace, job.agentId, job as unknown as JsonValue)
        return
      }
      let jobs = inProcess.get(store)
      if (!jobs) {
        jobs = new Map()
        inProcess.set(store, jobs)
      }
      jobs.set(job.agentId, job)
    },
    async get(store: ActivityStore, agentId: string): Promise<PoolJob | undefined> {
      if (store.documents) return (await store.documents.get(namespace, agentId)) as PoolJob | undefined
      return inProcess.get(store)?.get(agentId)
    },
    async forget(store: ActivityStore, agentId: string): Promise<void> {
      if (store.documents) await store.documents.deletePrefix(namespace, agentId).catch(() => 0)
      else inProcess.get(store)?.delete(agentId)
    },
  }
}

/** Where a waiting task's job is kept until its decisions come. */
const waiting = jobShelf('runner.pool.waiting-jobs')

/** Where the job of a task that failed is kept, for `pool.retry` to enqueue its input again. */
export const failedJobs = jobShelf('runner.pool.failed-jobs')

/** Keeps the job of a task that suspended, so that any process can submit it again. */
export const saveWaitingJob = waiting.save

/** The job of a waiting task, if it is kept. */
export const waitingJob = waiting.get

/** Forgets the job of a task that no longer waits. */
export const forgetWaitingJob = waiting.forget
