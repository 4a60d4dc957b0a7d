import { RunCanceledError } from '../errors/run-canceled-error.js'
import { RunnerError } from '../errors/runner-error.js'
import type { JobOutcome, PoolJob } from './types.js'

/** A job running in this process: how to stop it, and its outcome to come. */
export interface RunningJob {
  controller: AbortController
  done: Promise<JobOutcome>
}

/**
 * The outcomes of the jobs an engine ran in this process, for `result`: the latest `keepResults`
 * kept (the oldest evicted first), and the callers waiting for a job that has not finished. A
 * waiting outcome (the job waits for decisions) wakes the callers but is not kept: the job comes
 * back once decided.
 */
export class OutcomeBook {
  readonly #keepResults: number
  readonly #outcomes = new Map<string, JobOutcome>()
  readonly #waiters = new Map<string, Set<(outcome: JobOutcome) => void>>()

  constructor(keepResults: number) {
    this.#keepResults = keepResults
  }

  /** The kept outcome of a finished job. */
  get(agentId: string): JobOutcome | undefined {
    return this.#outcomes.get(agentId)
  }

  /** Waits for the outcome of a job that is pending here; rejects with `signal.reason` when it aborts first. */
  wait(agentId: string, signal: AbortSignal): Promise<JobOutcome> {
    if (signal.aborted) return Promise.reject(signal.reason)
    return new Promise((resolve, reject) => {
      let waiters = this.#waiters.get(agentId)
      if (!waiters) {
        waiters = new Set()
        this.#waiters.set(agentId, waiters)
      }
      const onAbort = () => {
        this.#waiters.get(agentId)?.delete(waiter)
        reject(signal.reason)
      }
      const waiter = (finished: JobOutcome) => {
        signal.removeEventListener('abort', onAbort)
        resolve(finished)
      }
      waiters.add(waiter)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Records how a job ended and tells whoever waits for it. */
  finish(outcome: JobOutcome): void {
    const waiters = this.#waiters.get(outcome.agentId)
    this.#waiters.delete(outcome.agentId)
    for (const waiter of waiters ?? []) waiter(outcome)
    if (outcome.status === 'waiting') return
    this.#outcomes.set(outcome.agentId, outcome)
    while (this.#outcomes.size > this.#keepResults) {
      const oldest = this.#outcomes.keys().next().value as string
      this.#outcomes.delete(oldest)
    }
  }
}

/**
 * Waits up to `timeoutMs` for the running jobs to finish, then aborts those still running (a
 * `RunCanceledError` saying the pool closed) and waits for them to settle (promptly: the job
 * runner never waits for a handler past its signal).
 */
export async function stopRunning(running: Map<string, RunningJob>, timeoutMs: number): Promise<void> {
  const entries = [...running.values()]
  if (entries.length === 0) return
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs)
  })
  const finished = await Promise.race([Promise.all(entries.map((entry) => entry.done)), timedOut])
  clearTimeout(timer)
  if (finished !== 'timeout') return
  const error = new RunCanceledError(
    `The pool closed and the task did not finish within timeoutMs (${timeoutMs} ms).`,
  )
  for (const entry of running.values()) entry.controller.abort(error)
  await Promise.all([...running.values()].map((entry) => entry.done))
}

/** The outcome of a job whose runner broke its promise never to reject (a bug): never drop the job silently. */
export function crashedOutcome(job: PoolJob, error: unknown): JobOutcome {
  return {
    agentId: job.agentId,
    task: job.task,
    status: 'error',
    attempts: job.attempt,
    error: error instanceof Error ? error : new RunnerError(String(error), { cause: error }),
  }
}
