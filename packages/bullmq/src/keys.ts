/**
 * The Redis keys the engine keeps next to BullMQ's own, under the queue's prefix (so they share a
 * Redis Cluster slot with the queue when the prefix is a `{hash tag}`), all under
 * `<prefix>:<queue>:runner:`. Agent ids never contain `:`, so they cannot collide with BullMQ's.
 */
export interface RunnerKeys {
  /** Pub/sub channel on which `cancel(agentId)` reaches the worker running the job, wherever it is. */
  cancelChannel: string
  /** Set when a job is canceled; workers check it before running a job, so no cancel is missed. */
  cancelMarker(agentId: string): string
  /** Outcome of a job that ended without a worker (canceled while queued or delayed). */
  outcome(agentId: string): string
  /**
   * The highest `resumed` submitted for a task that waited for decisions: its current BullMQ job
   * is `<agentId>:resume:<n>` (absent: the job `<agentId>`).
   */
  resumed(agentId: string): string
  /** BullMQ's event stream of the queue (read by `QueueEvents`). */
  events: string
}

export function runnerKeys(prefix: string, queueName: string): RunnerKeys {
  const queue = `${prefix}:${queueName}`
  const base = `${queue}:runner`
  return {
    cancelChannel: `${base}:cancel`,
    cancelMarker: (agentId) => `${base}:cancel:${agentId}`,
    outcome: (agentId) => `${base}:outcome:${agentId}`,
    resumed: (agentId) => `${base}:resumed:${agentId}`,
    events: `${queue}:events`,
  }
}
