import { errorFields, type Logger, writeLog } from '../runner/log-hooks.js'
import type { JobOutcome, JobRunner, PoolJob } from './types.js'

/** The pool's `structuredLogger` and whether its lines carry content (inputs, results, metadata). */
export interface PoolLogSettings {
  logger: Logger
  logContent: boolean
}

/** Fields every line of a task carries. */
function base(event: string, job: PoolJob, attempt: number): Record<string, unknown> {
  return { event, agentId: job.agentId, agentType: job.task, task: job.task, attempt }
}

/** Writes `task.enqueued` for a job the engine accepted. */
export function logEnqueued(
  settings: PoolLogSettings,
  job: PoolJob,
  metadata: Record<string, unknown> | undefined,
): void {
  const fields = base('task.enqueued', job, 0)
  fields.priority = job.priority
  if (job.delayMs > 0) fields.delayMs = job.delayMs
  if (settings.logContent) {
    fields.input = job.input
    fields.metadata = metadata
  }
  writeLog(settings.logger, 'info', fields)
}

/** Writes the line of a job's outcome: `task.end`, `task.failed`, `task.canceled` or `task.waiting`. */
function logOutcome(
  settings: PoolLogSettings,
  job: PoolJob,
  outcome: JobOutcome,
  started: number | undefined,
): void {
  const { logger, logContent } = settings
  // How long the job ran (none for a job ended without running: canceled queued, given up on).
  const durationMs = started === undefined ? undefined : Math.round(performance.now() - started)
  switch (outcome.status) {
    case 'complete': {
      const fields = base('task.end', job, outcome.attempts)
      fields.status = 'complete'
      fields.durationMs = durationMs
      if (logContent) fields.result = outcome.result
      writeLog(logger, 'info', fields)
      return
    }
    case 'waiting': {
      const fields = base('task.waiting', job, outcome.attempts)
      fields.pending = outcome.pending.length
      fields.durationMs = durationMs
      writeLog(logger, 'info', fields)
      return
    }
    case 'canceled': {
      const fields = base('task.canceled', job, outcome.attempts)
      Object.assign(fields, errorFields(outcome.error))
      fields.durationMs = durationMs
      writeLog(logger, 'info', fields)
      return
    }
    default: {
      const fields = base('task.failed', job, outcome.attempts)
      Object.assign(fields, errorFields(outcome.error))
      fields.durationMs = durationMs
      writeLog(logger, 'error', fields)
    }
  }
}

/**
 * The pool's job runner, writing a line when a job starts (`task.start`) and one for its outcome.
 * What the logger throws is ignored.
 */
export function loggedJobRunner(runner: JobRunner, settings: PoolLogSettings): JobRunner {
  return {
    ...runner,
    async runJob(job, options) {
      const started = performance.now()
      const fields = base('task.start', job, job.attempt)
      if (options.redelivered) fields.redelivered = true
      if (job.resumed !== undefined) fields.resumed = job.resumed
      writeLog(settings.logger, 'info', fields)
      const outcome = await runner.runJob(job, options)
      logOutcome(settings, job, outcome, started)
      return outcome
    },
    async cancelJob(job, options) {
      const outcome = await runner.cancelJob(job, options)
      logOutcome(settings, job, outcome, undefined)
      return outcome
    },
    async failJob(job, error) {
      const outcome = await runner.failJob(job, error)
      logOutcome(settings, job, outcome, undefined)
      return outcome
    },
  }
}
