import { parseArgs } from 'node:util'

/** The command line of `runner-worker`, parsed. */
export interface CliOptions {
  /** Path (or URL) of the tasks module. */
  module: string
  queueName?: string
  prefix?: string
  concurrency?: number
  shutdownTimeoutMs?: number
  lockDurationMs?: number
  stalledIntervalMs?: number
  maxStalledCount?: number
  limiter?: { max: number; durationMs: number }
  requeueOnShutdown?: boolean
  help: boolean
  version: boolean
}

export const usage = `Usage: runner-worker <tasks-module> --queue <name> [options]

Runs the tasks of <tasks-module> from a BullMQ queue, as one worker process. Start as many as you
need, on as many machines: they share the queue (Redis) and the activity store.

The tasks module exports default a function (pool) => { pool.task(...) } (or a pool built with
bullmqEngine, in which case --queue and the BullMQ flags do not apply).

Options:
  --queue <name>               BullMQ queue name (the one the API enqueues into). Required.
  --prefix <prefix>            Redis key prefix of the queue. Default "bull".
  --concurrency <n>            Tasks run at once by this process. Default RUNNER_CONCURRENCY or 4.
  --shutdown-timeout <ms>      On SIGTERM/SIGINT, how long running tasks may finish before they
                               are canceled. Default 30000.
  --requeue-on-shutdown        Hand the tasks still running at the shutdown timeout back to the
                               queue (another worker resumes them) instead of canceling them.
  --lock-duration <ms>         Job lock duration: how late a dead worker is noticed. Default 30000.
  --stalled-interval <ms>      How often dead workers' jobs are looked for. Default 30000.
  --max-stalled-count <n>      Redeliveries after lost workers before a job fails. Default 3.
  --rate-limit <max>/<ms>      At most <max> jobs started per <ms> across the queue (e.g. 10/1000).
  -h, --help                   Show this help.
  -v, --version                Show the version.

Environment (read with loadConfig from @runner/core):
  RUNNER_REDIS_URL             redis:// or rediss:// URL. Required.
  RUNNER_STORE_URL             Where activities are: postgres://... (install @runner/postgres) or
                               sqlite:<path> (processes of one machine). Required: memory: is per
                               process, so no other process would see the activities.
  RUNNER_CONCURRENCY, RUNNER_MESSAGE_*   As documented in @runner/core.
`

/** A command-line problem: the CLI prints it with the usage hint and exits with code 2. */
export class CliUsageError extends Error {
  override name = 'CliUsageError'
}

function integer(flag: string, text: string | undefined, minimum: number): number | undefined {
  if (text === undefined) return undefined
  if (!/^\d+$/.test(text.trim()) || Number(text) < minimum || !Number.isSafeInteger(Number(text))) {
    throw new CliUsageError(`${flag} must be an integer >= ${minimum}, got ${JSON.stringify(text)}`)
  }
  return Number(text)
}

/** Parses `runner-worker`'s arguments (without `node` and the script). */
export function parseCliArgs(argv: readonly string[]): CliOptions {
  let parsed: ReturnType<typeof parseWith>
  try {
    parsed = parseWith(argv)
  } catch (error) {
    throw new CliUsageError(error instanceof Error ? error.message : String(error))
  }
  const { values, positionals } = parsed
  const help = values.help === true
  const version = values.version === true
  if (help || version) return { module: positionals[0] ?? '', help, version }
  if (positionals.length !== 1) {
    throw new CliUsageError(
      positionals.length === 0
        ? 'the tasks module is missing: runner-worker ./tasks.js --queue <name>'
        : `one tasks module only, got ${positionals.length}: ${positionals.join(' ')}`,
    )
  }
  let limiter: CliOptions['limiter']
  if (values['rate-limit'] !== undefined) {
    const match = /^(\d+)\/(\d+)$/.exec(values['rate-limit'].trim())
    if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) {
      throw new CliUsageError(
        `--rate-limit must be <max>/<durationMs> with both >= 1 (e.g. 10/1000), got ${JSON.stringify(values['rate-limit'])}`,
      )
    }
    limiter = { max: Number(match[1]), durationMs: Number(match[2]) }
  }
  const options: CliOptions = {
    module: positionals[0] as string,
    help,
    version,
    ...(values.queue === undefined ? {} : { queueName: values.queue }),
    ...(values.prefix === undefined ? {} : { prefix: values.prefix }),
    ...(limiter ? { limiter } : {}),
    ...(values['requeue-on-shutdown'] ? { requeueOnShutdown: true } : {}),
  }
  const numbers = {
    concurrency: integer('--concurrency', values.concurrency, 1),
    shutdownTimeoutMs: integer('--shutdown-timeout', values['shutdown-timeout'], 0),
    lockDurationMs: integer('--lock-duration', values['lock-duration'], 100),
    stalledIntervalMs: integer('--stalled-interval', values['stalled-interval'], 100),
    maxStalledCount: integer('--max-stalled-count', values['max-stalled-count'], 0),
  }
  for (const [key, value] of Object.entries(numbers)) {
    if (value !== undefined) (options as unknown as Record<string, number>)[key] = value
  }
  return options
}

function parseWith(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      queue: { type: 'string' },
      prefix: { type: 'string' },
      concurrency: { type: 'string' },
      'shutdown-timeout': { type: 'string' },
      'lock-duration': { type: 'string' },
      'stalled-interval': { type: 'string' },
      'max-stalled-count': { type: 'string' },
      'rate-limit': { type: 'string' },
      'requeue-on-shutdown': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  })
}
