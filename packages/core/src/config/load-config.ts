import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { errorMessage, type LifecycleMessages } from '../activity/tracker.js'
import { ConfigError, type ConfigIssue } from '../errors/config-error.js'
import { suggestKey } from './suggest-key.js'

/** Where activities are kept, parsed from `RUNNER_STORE_URL`. */
export type StoreConfig =
  /** `memory:`: a `MemoryActivityStore`, lost when the process exits. The default. */
  | { readonly kind: 'memory' }
  /** `sqlite:<path>` or `file:<path>`: a `SqliteActivityStore` (`@runner/core/sqlite`) on that file. */
  | {
      readonly kind: 'sqlite'
      /** The database file as given (relative paths resolve from the working directory; `file://` URLs are decoded), or `:memory:`. */
      readonly path: string
    }
  /** `postgres://` or `postgresql://`: a `PostgresActivityStore` (`@runner/postgres`). */
  | {
      readonly kind: 'postgres'
      /** The connection URL exactly as given, credentials included. */
      readonly url: string
    }

/** Retry policy of a run: the shape of `RunOptions.retry`. */
export interface RetryConfig {
  /** Attempts per run, the first included (`RUNNER_RETRY_ATTEMPTS`). Default `3`: adapters switch their SDK's own retries off, so the run's are the only ones. */
  readonly attempts: number
  /** Wait before the first retry, doubled on each next one, in ms (`RUNNER_RETRY_INITIAL_DELAY_MS`). Default `500`. */
  readonly initialDelayMs: number
  /** Cap of any wait between attempts, in ms; never below `initialDelayMs` (`RUNNER_RETRY_MAX_DELAY_MS`). Default `10000`. */
  readonly maxDelayMs: number
}

/** The runner's settings read from `RUNNER_*` environment variables by `loadConfig`. Frozen, nested objects included. */
export interface RunnerConfig {
  /** Where activities are kept (`RUNNER_STORE_URL`). Default `{ kind: 'memory' }`. */
  readonly store: StoreConfig
  /** Redis for the distributed task engine, a `redis://` or `rediss://` URL (`RUNNER_REDIS_URL`). Absent by default: tasks run in-process. */
  readonly redisUrl?: string
  /** How many tasks the pool runs at once (`RUNNER_CONCURRENCY`). Default `4`. */
  readonly concurrency: number
  /** Default model-turn limit of a run (`RUNNER_MAX_TURNS`). Default `10`. */
  readonly maxTurns: number
  /** Default time limit of a run, in ms (`RUNNER_TIMEOUT_MS`). Absent by default: no timeout. */
  readonly timeoutMs?: number
  /** Default retry policy of a run (`RUNNER_RETRY_*`). */
  readonly retry: RetryConfig
  /** Whether runs record their trajectory (`RUNNER_RECORD_TRAJECTORY`: `true`, `false`, `1` or `0`). Default `true`. */
  readonly recordTrajectory: boolean
  /**
   * Overrides of the activity log's lifecycle messages (`RUNNER_MESSAGE_*`), ready for
   * `createActivityTracker({ messages })`. Only the variables that are set appear; `error` fills
   * `{error}` with the error's message and `timedOut` fills `{timeoutMs}`. Default `{}`.
   */
  readonly messages: Readonly<Partial<LifecycleMessages>>
}

/** The environment `loadConfig` reads: `process.env` or any plain object of strings. */
export type ConfigEnv = Readonly<Record<string, string | undefined>>

const PREFIX = 'RUNNER_'

/** The longest delay `setTimeout` honours; a larger one fires at once. */
const MAX_TIMER_MS = 2_147_483_647

/**
 * `RUNNER_*` variables that GitHub Actions sets in every job. They are not ours, so they are
 * neither read nor reported as unknown.
 */
const FOREIGN_KEYS = new Set([
  'RUNNER_ALLOW_RUNASROOT',
  'RUNNER_ARCH',
  'RUNNER_DEBUG',
  'RUNNER_ENVIRONMENT',
  'RUNNER_NAME',
  'RUNNER_OS',
  'RUNNER_PERFLOG',
  'RUNNER_TEMP',
  'RUNNER_TOOL_CACHE',
  'RUNNER_TRACKING_ID',
  'RUNNER_USER',
  'RUNNER_WORKSPACE',
])

/** A schema for one variable: `parse` gets the trimmed text and returns `undefined` when it is invalid. */
function variable<T>(expected: string, parse: (text: string) => T | undefined, show = (raw: string) => raw) {
  return z.string().transform((raw, context): T => {
    const value = parse(raw.trim())
    if (value !== undefined) return value
    context.addIssue(`must be ${expected}, got ${JSON.stringify(show(raw))}`)
    return z.NEVER
  })
}

function integer(min: number, max: number, expected: string) {
  return variable(expected, (text) => {
    const value = /^\d+$/.test(text) ? Number(text) : Number.NaN
    return value >= min && value <= max ? value : undefined
  })
}

/** The URL with its password masked, so that error messages never leak credentials. */
function redact(raw: string): string {
  try {
    const url = new URL(raw.trim())
    if (!url.password) return raw
    url.password = '***'
    return url.href
  } catch {
    return raw
  }
}

function parseStore(text: string): StoreConfig | undefined {
  if (text.toLowerCase() === 'memory:') return { kind: 'memory' }
  const sqlite = /^(?:sqlite|file):(.*)$/is.exec(text)
  if (sqlite) {
    const path = sqlite[1] ?? ''
    if (!path.startsWith('//')) return path ? { kind: 'sqlite', path } : undefined
    try {
      return { kind: 'sqlite', path: fileURLToPath(`file:${path}`) }
    } catch {
      return undefined
    }
  }
  if (/^postgres(?:ql)?:\/\//i.test(text) && URL.canParse(text)) return { kind: 'postgres', url: text }
  return undefined
}

/** A lifecycle message; `{name}` placeholders other than `placeholders` are typos and rejected. */
function message(placeholders: readonly string[]) {
  return z.string().transform((raw, context) => {
    if (!raw.trim()) context.addIssue('must not be blank')
    for (const [, name] of raw.matchAll(/\{(\w+)\}/g)) {
      if (name === undefined || placeholders.includes(name)) continue
      const allowed = placeholders.length
        ? `the only placeholder is ${placeholders.map((known) => `{${known}}`).join(', ')}`
        : 'this message takes no placeholders'
      context.addIssue(`unknown placeholder {${name}}: ${allowed}`)
    }
    return raw
  })
}

/** Replaces every `{name}` in `template`; the value is inserted literally, `$` patterns included. */
function fill(template: string, name: string, value: string): string {
  return template.replaceAll(`{${name}}`, () => value)
}

const DELAY = `an integer of milliseconds from 0 to ${MAX_TIMER_MS}`

const schemas = {
  RUNNER_STORE_URL: variable(
    'memory:, sqlite:<path>, file:<path> or a postgres:// or postgresql:// URL',
    parseStore,
    redact,
  ),
  RUNNER_REDIS_URL: variable(
    'a redis:// or rediss:// URL',
    (text) => (/^rediss?:\/\//i.test(text) && URL.canParse(text) ? text : undefined),
    redact,
  ),
  RUNNER_CONCURRENCY: integer(1, Number.MAX_SAFE_INTEGER, 'a positive integer'),
  RUNNER_MAX_TURNS: integer(1, Number.MAX_SAFE_INTEGER, 'a positive integer'),
  RUNNER_TIMEOUT_MS: integer(1, MAX_TIMER_MS, `a positive integer of milliseconds, at most ${MAX_TIMER_MS}`),
  RUNNER_RETRY_ATTEMPTS: integer(1, Number.MAX_SAFE_INTEGER, 'an integer >= 1'),
  RUNNER_RETRY_INITIAL_DELAY_MS: integer(0, MAX_TIMER_MS, DELAY),
  RUNNER_RETRY_MAX_DELAY_MS: integer(0, MAX_TIMER_MS, DELAY),
  RUNNER_RECORD_TRAJECTORY: variable('true, false, 1 or 0', (text) => {
    const lower = text.toLowerCase()
    return lower === 'true' || lower === '1' ? true : lower === 'false' || lower === '0' ? false : undefined
  }),
  RUNNER_MESSAGE_QUEUED: message([]),
  RUNNER_MESSAGE_STARTED: message([]),
  RUNNER_MESSAGE_COMPLETE: message([]),
  RUNNER_MESSAGE_CANCELED: message([]),
  RUNNER_MESSAGE_TIMED_OUT: message(['timeoutMs']),
  RUNNER_MESSAGE_ERROR: message(['error']),
}

type Key = keyof typeof schemas
type Values = { [K in Key]?: z.output<(typeof schemas)[K]> }

const KNOWN_KEYS = Object.keys(schemas) as Key[]

const defaults = {
  concurrency: 4,
  maxTurns: 10,
  retry: { attempts: 3, initialDelayMs: 500, maxDelayMs: 10_000 },
  recordTrajectory: true,
}

/**
 * Reads the runner's settings from `RUNNER_*` environment variables.
 *
 * Empty variables count as unset; variables without the `RUNNER_` prefix are ignored. Every
 * problem is collected first: an unknown `RUNNER_*` key (with a "did you mean" hint when a known
 * key is close) and every bad value are reported together in one `ConfigError`, whose `issues`
 * name each key and what it expects.
 *
 * @example
 * const config = loadConfig()
 * const tracker = createActivityTracker({ messages: config.messages })
 */
export function loadConfig(env: ConfigEnv = process.env): RunnerConfig {
  const issues: ConfigIssue[] = []
  const values: Values = {}
  const raw: Partial<Record<Key, string>> = {}

  for (const [key, value] of Object.entries(env)) {
    const upper = key.toUpperCase()
    if (!upper.startsWith(PREFIX) || FOREIGN_KEYS.has(upper) || value === undefined || value === '') continue
    if (KNOWN_KEYS.includes(key as Key)) {
      raw[key as Key] = value
      continue
    }
    const hint = suggestKey(key, KNOWN_KEYS)
    issues.push({
      key,
      message: hint
        ? `unknown key; did you mean ${hint}?`
        : `unknown key; expected one of ${KNOWN_KEYS.join(', ')}`,
    })
  }

  for (const key of KNOWN_KEYS) {
    const text = raw[key]
    if (text === undefined) continue
    const result = schemas[key].safeParse(text)
    if (result.success) (values as Record<Key, unknown>)[key] = result.data
    else for (const issue of result.error.issues) issues.push({ key, message: issue.message })
  }

  const retry = {
    attempts: values.RUNNER_RETRY_ATTEMPTS ?? defaults.retry.attempts,
    initialDelayMs: values.RUNNER_RETRY_INITIAL_DELAY_MS ?? defaults.retry.initialDelayMs,
    maxDelayMs: values.RUNNER_RETRY_MAX_DELAY_MS ?? defaults.retry.maxDelayMs,
  }
  const delaysParsed =
    (raw.RUNNER_RETRY_INITIAL_DELAY_MS === undefined || values.RUNNER_RETRY_INITIAL_DELAY_MS !== undefined) &&
    (raw.RUNNER_RETRY_MAX_DELAY_MS === undefined || values.RUNNER_RETRY_MAX_DELAY_MS !== undefined)
  if (delaysParsed && retry.maxDelayMs < retry.initialDelayMs) {
    // Blame the key that was set; when both are, the cap.
    issues.push(
      raw.RUNNER_RETRY_MAX_DELAY_MS === undefined
        ? {
            key: 'RUNNER_RETRY_INITIAL_DELAY_MS',
            message: `must be <= RUNNER_RETRY_MAX_DELAY_MS (${retry.maxDelayMs} by default), got "${raw.RUNNER_RETRY_INITIAL_DELAY_MS}"`,
          }
        : {
            key: 'RUNNER_RETRY_MAX_DELAY_MS',
            message: `must be >= RUNNER_RETRY_INITIAL_DELAY_MS (${retry.initialDelayMs}${raw.RUNNER_RETRY_INITIAL_DELAY_MS === undefined ? ' by default' : ''}), got "${raw.RUNNER_RETRY_MAX_DELAY_MS}"`,
          },
    )
  }

  if (issues.length > 0) throw new ConfigError(issues)

  const messages: Partial<LifecycleMessages> = {}
  if (values.RUNNER_MESSAGE_QUEUED !== undefined) messages.queued = values.RUNNER_MESSAGE_QUEUED
  if (values.RUNNER_MESSAGE_STARTED !== undefined) messages.started = values.RUNNER_MESSAGE_STARTED
  if (values.RUNNER_MESSAGE_COMPLETE !== undefined) messages.complete = values.RUNNER_MESSAGE_COMPLETE
  if (values.RUNNER_MESSAGE_CANCELED !== undefined) messages.canceled = values.RUNNER_MESSAGE_CANCELED
  const timedOut = values.RUNNER_MESSAGE_TIMED_OUT
  if (timedOut !== undefined)
    messages.timedOut = (timeoutMs) => fill(timedOut, 'timeoutMs', String(timeoutMs))
  const error = values.RUNNER_MESSAGE_ERROR
  if (error !== undefined) messages.error = (cause) => fill(error, 'error', errorMessage(cause))

  const config: RunnerConfig = {
    store: Object.freeze(values.RUNNER_STORE_URL ?? { kind: 'memory' }),
    ...(values.RUNNER_REDIS_URL !== undefined && { redisUrl: values.RUNNER_REDIS_URL }),
    concurrency: values.RUNNER_CONCURRENCY ?? defaults.concurrency,
    maxTurns: values.RUNNER_MAX_TURNS ?? defaults.maxTurns,
    ...(values.RUNNER_TIMEOUT_MS !== undefined && { timeoutMs: values.RUNNER_TIMEOUT_MS }),
    retry: Object.freeze(retry),
    recordTrajectory: values.RUNNER_RECORD_TRAJECTORY ?? defaults.recordTrajectory,
    messages: Object.freeze(messages),
  }
  return Object.freeze(config)
}
