import { errorMessage } from '../activity/tracker.js'
import type { Usage } from '../activity/types.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { redactSecrets, redactSecretsIn } from '../util/secrets.js'
import type { HookRunInfo, RunHooks } from './hooks.js'
import type { RunResult } from './types.js'

/**
 * A structured logger: pino's (or any logger with pino's signature: the fields first, the message
 * second). Core calls each method with the line's fields and the event's name. `console` works too
 * (for development: it prints the fields and the name). `debug` is optional (its lines are dropped
 * without it); `isLevelEnabled`, when the logger has it (pino), lets the lines of a disabled level
 * cost nothing.
 */
export interface Logger {
  info(fields: LogFields, message?: string): void
  warn(fields: LogFields, message?: string): void
  error(fields: LogFields, message?: string): void
  debug?(fields: LogFields, message?: string): void
  isLevelEnabled?(level: string): boolean
}

/** The fields of one line. */
export type LogFields = Record<string, unknown>

type Level = 'debug' | 'info' | 'warn' | 'error'

/** Whether `value` can be used as a `structuredLogger` (the option checks refuse anything else, naming the field). */
export function isLogger(value: unknown): value is Logger {
  if (typeof value !== 'object' || value === null) return false
  const logger = value as Record<string, unknown>
  return (
    typeof logger.info === 'function' &&
    typeof logger.warn === 'function' &&
    typeof logger.error === 'function' &&
    (logger.debug === undefined || typeof logger.debug === 'function')
  )
}

/** What the option checks say of a bad `structuredLogger`. */
export const loggerMessage =
  'must be a logger with info, warn and error methods taking (fields, message), such as a pino logger or console'

/** Whether a line of `level` would be written (false without the method, or when the logger says the level is off). */
export function levelEnabled(logger: Logger, level: Level): boolean {
  if (typeof logger[level] !== 'function') return false
  if (typeof logger.isLevelEnabled !== 'function') return true
  try {
    return logger.isLevelEnabled(level) !== false
  } catch {
    return true
  }
}

/**
 * Writes one line: `fields` (with `event` first) and the event's name as the message. Every string
 * goes through `redactSecrets`, every object through `redactSecretsIn`. A logger that throws is
 * ignored: logs never fail the work they describe.
 */
export function writeLog(logger: Logger, level: Level, fields: Record<string, unknown>): void {
  try {
    if (!levelEnabled(logger, level)) return
    const line: Record<string, unknown> = {}
    for (const key in fields) {
      const value = fields[key]
      if (value === undefined) continue
      line[key] =
        typeof value === 'string'
          ? redactSecrets(value)
          : typeof value === 'object' && value !== null
            ? redactSecretsIn(value)
            : value
    }
    ;(logger[level] as (fields: LogFields, message?: string) => void).call(logger, line, String(fields.event))
  } catch {
    // A logger that throws (a closed stream, a bug) must not fail the run or the task.
  }
}

/** The fields of an error: its name and message (redacted when written). */
export function errorFields(error: unknown): { errorName: string; error: string } {
  const name =
    error instanceof Error
      ? error.name
      : typeof error === 'object' && error !== null && typeof (error as { name?: unknown }).name === 'string'
        ? (error as { name: string }).name
        : typeof error
  return { errorName: name, error: errorMessage(error) }
}

/** Token counts (and cost, when priced) as flat fields. */
export function usageFields(usage: Usage | undefined): Record<string, unknown> {
  if (!usage) return {}
  const fields: Record<string, unknown> = {
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    totalTokens: usage.totalTokens,
  }
  if (usage.cachedInputTokens !== undefined) fields.cachedInputTokens = usage.cachedInputTokens
  if (usage.reasoningTokens !== undefined) fields.reasoningTokens = usage.reasoningTokens
  const costUsd = (usage as Usage & { costUsd?: number }).costUsd
  if (costUsd !== undefined) fields.costUsd = costUsd
  return fields
}

/** What the log hooks of one run need to know. */
export interface RunLogSettings {
  logger: Logger
  /** Include message content, tool inputs and outputs, and metadata. */
  logContent: boolean
  /** The runner's name. */
  runner: string
  maxTurns: number
  maxTurnsRecovery: boolean
}

/** Fields every line of a run carries. */
function base(event: string, info: HookRunInfo): Record<string, unknown> {
  return { event, agentId: info.agentId, agentType: info.agentType, attempt: info.attempt, turn: info.turn }
}

/** What model-call events carry beyond the hook's base type (filled by runners that know them). */
interface ModelCallExtras {
  model?: string
  provider?: string
  finishReasons?: string[]
  timeToFirstChunkMs?: number
}

/**
 * The hooks that write a run's structured logs: one line per lifecycle event. Fired after the
 * runner's and the run's hooks; what they throw is ignored. Made per run (the run's start time is
 * theirs), only when the runner has a `structuredLogger`.
 */
export function runLogHooks(settings: RunLogSettings): RunHooks {
  const { logger, logContent, runner, maxTurns } = settings
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  const hooks: RunHooks = {
    onRunStart(event) {
      const fields = base('run.start', event)
      fields.runner = runner
      if (logContent) {
        fields.input = event.input
        fields.metadata = event.metadata
      }
      writeLog(logger, 'info', fields)
    },
    onRunEnd(event) {
      const result = event.result as RunResult
      if (result.status === 'waiting') {
        const fields = base('run.waiting', event)
        fields.pending = result.pending.length
        fields.expiresAt = result.expiresAt
        fields.turns = result.turns
        fields.durationMs = result.durationMs
        Object.assign(fields, usageFields(result.usage))
        if (logContent) fields.requests = result.pending
        writeLog(logger, 'info', fields)
        return
      }
      const fields = base('run.end', event)
      fields.status = result.status
      fields.turns = result.turns
      fields.attempts = result.attempts
      fields.durationMs = result.durationMs
      fields.maxTurnsReached = result.maxTurnsReached
      if (result.budgetExceeded) fields.budgetExceeded = true
      Object.assign(fields, usageFields(result.usage))
      if (logContent) fields.text = result.text
      writeLog(logger, 'info', fields)
    },
    onRunError(event) {
      const canceled = RunCanceledError.isInstance(event.error)
      const fields = base(canceled ? 'run.canceled' : 'run.error', event)
      Object.assign(fields, errorFields(event.error))
      fields.durationMs = elapsed()
      writeLog(logger, canceled ? 'info' : 'error', fields)
    },
    onRetry(event) {
      const fields = base('attempt.retry', event)
      fields.nextAttempt = event.nextAttempt
      fields.maxAttempts = event.maxAttempts
      fields.delayMs = event.delayMs
      Object.assign(fields, errorFields(event.error))
      writeLog(logger, 'warn', fields)
    },
    onModelCallEnd(event) {
      if (!levelEnabled(logger, 'debug')) return
      const extras = event as typeof event & ModelCallExtras
      const fields = base('model.call', event)
      fields.model = extras.model
      fields.provider = extras.provider
      fields.durationMs = event.durationMs
      fields.timeToFirstChunkMs = extras.timeToFirstChunkMs
      Object.assign(fields, usageFields(event.usage))
      fields.toolCalls = event.toolCalls.length
      fields.finishReasons = extras.finishReasons
      if (logContent) {
        fields.text = event.text
        fields.toolCallInputs = event.toolCalls.map((call) => ({ tool: call.toolName, input: call.input }))
      }
      writeLog(logger, 'debug', fields)
    },
    onToolCallEnd(event) {
      if (!levelEnabled(logger, 'debug')) return
      const fields = base('tool.call', event)
      fields.tool = event.toolName
      fields.toolCallId = event.toolCallId
      fields.durationMs = event.durationMs
      fields.isError = event.isError
      if (logContent) {
        fields.input = event.input
        fields.output = event.output
      }
      writeLog(logger, 'debug', fields)
    },
    onStatusUpdate(event) {
      const { kind } = event
      if (kind === 'progress') {
        if (!levelEnabled(logger, 'debug')) return
        const fields = base('status', event)
        fields.status = event.status
        fields.percentage = event.percentage
        // What the agent reports is its own text: content.
        if (logContent) fields.message = event.message
        writeLog(logger, 'debug', fields)
      } else if (kind === 'resume') {
        const fields = base('run.resumed', event)
        fields.message = event.message
        writeLog(logger, 'info', fields)
      } else if (kind === 'fallback') {
        const fields = base('fallback', event)
        fields.message = event.message
        writeLog(logger, 'warn', fields)
      }
    },
  }
  if (settings.maxTurnsRecovery) {
    // The first turn past the limit is the first wrap-up turn.
    hooks.onModelCallStart = (event) => {
      if (event.turn !== maxTurns + 1) return
      const fields = base('wrap-up', event)
      fields.maxTurns = maxTurns
      writeLog(logger, 'info', fields)
    }
  }
  return hooks
}
