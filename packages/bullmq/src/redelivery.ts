import type { Activity } from '@runner/core'

/** The activity log line of a job redelivered because the worker running it was lost. */
export function workerLostMessage(attempt: number): string {
  return `Worker lost; retrying (attempt ${attempt})`
}

/** `Retry n/N: reason`, written by the pool's job runner when attempt n failed and n + 1 follows. */
const retryLine = /^Retry (\d+)\/\d+: /
/** `Worker lost; retrying (attempt n)`, written by `workerLostMessage`. */
const lostLine = /^Worker lost; retrying \(attempt (\d+)\)/

/**
 * The attempt a redelivered job starts from, so that the task's `retries` stay one total budget
 * across workers: the attempt the lost worker was running, read from the activity log, plus one.
 * The lost worker was running `firstAttempt` (the job's), or the attempt after its last
 * `Retry n/N` line, or the attempt of its own last redelivery line, whichever is latest.
 *
 * (The job runner does not tell engines when an attempt starts, so the log is the only record of
 * retries made in a process that died.)
 */
export function attemptAfterLoss(activity: Activity, firstAttempt: number): number {
  let running = Math.max(1, Math.floor(firstAttempt) || 1)
  for (const entry of activity.log) {
    if (entry.status !== 'running') continue
    const retry = retryLine.exec(entry.message)
    if (retry) running = Math.max(running, Number(retry[1]) + 1)
    const lost = lostLine.exec(entry.message)
    if (lost) running = Math.max(running, Number(lost[1]))
  }
  return running + 1
}
