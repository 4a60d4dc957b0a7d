#!/usr/bin/env node
/**
 * `runner-worker <tasks-module> --queue <name>`: one worker process of a BullMQ-backed pool. See
 * `usage` in cli-options.ts and the package README ("Workers").
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import {
  type ActivityStore,
  createActivityTracker,
  createPool,
  loadConfig,
  openStore,
  type Pool,
} from '@runner/core'
import { bullmqEngine } from './bullmq-engine.js'
import { CliUsageError, parseCliArgs, usage } from './cli-options.js'
import { startWorker } from './start-worker.js'
import { taskModuleEntry } from './task-module.js'
import { VERSION } from './version.js'

async function main(argv: readonly string[]): Promise<void> {
  const options = parseCliArgs(argv)
  if (options.help) return void process.stdout.write(usage)
  if (options.version) return void process.stdout.write(`${VERSION}\n`)

  const config = loadConfig(process.env)
  const specifier = /^[a-z][a-z0-9+.-]*:/i.test(options.module)
    ? options.module
    : pathToFileURL(resolve(options.module)).href
  const entry = taskModuleEntry((await import(specifier)) as Record<string, unknown>, options.module)

  let pool: Pool
  let store: ActivityStore | undefined
  let queueName: string
  if (entry.kind === 'pool') {
    const engineFlags = [
      'queueName',
      'prefix',
      'lockDurationMs',
      'stalledIntervalMs',
      'maxStalledCount',
      'limiter',
    ]
    const given = engineFlags.filter((key) => key in options)
    if (given.length > 0) {
      throw new CliUsageError(
        `${options.module} exports its own pool, so its bullmqEngine() settings apply: drop ${given.map(flagOf).join(', ')}`,
      )
    }
    pool = entry.pool
    queueName = 'queueName' in pool.engine ? String(pool.engine.queueName) : pool.engine.name
  } else {
    if (!options.queueName)
      throw new CliUsageError('--queue <name> is required: the queue the API enqueues into')
    if (!config.redisUrl) {
      throw new Error(
        'RUNNER_REDIS_URL is not set: give the redis:// URL of the queue, e.g. redis://127.0.0.1:6379',
      )
    }
    store = await openStore(config.store, {
      sharedBy: 'a worker',
      // @runner/postgres is looked for among the worker's dependencies.
      importPackage: (name) => import(name),
    })
    const activity = createActivityTracker({ store, messages: config.messages })
    const worker = {
      ...(options.lockDurationMs === undefined ? {} : { lockDurationMs: options.lockDurationMs }),
      ...(options.stalledIntervalMs === undefined ? {} : { stalledIntervalMs: options.stalledIntervalMs }),
      ...(options.maxStalledCount === undefined ? {} : { maxStalledCount: options.maxStalledCount }),
      ...(options.limiter ? { limiter: options.limiter } : {}),
    }
    const engine = bullmqEngine({
      connection: config.redisUrl,
      queueName: options.queueName,
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
      worker,
    })
    pool = createPool({ activity, engine, concurrency: options.concurrency ?? config.concurrency })
    queueName = options.queueName
    await entry.register(pool)
  }

  const worker = await startWorker({
    pool,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.shutdownTimeoutMs === undefined ? {} : { shutdownTimeoutMs: options.shutdownTimeoutMs }),
    ...(options.requeueOnShutdown ? { requeueOnShutdown: true } : {}),
    onShutdown: async () => {
      await store?.close()
      console.log(`runner-worker: worker ${worker.id} stopped`)
    },
  })
  console.log(
    `runner-worker ${VERSION}: worker ${worker.id} processing queue "${queueName}" (concurrency ${worker.concurrency}); SIGTERM or Ctrl-C stops it gracefully`,
  )
}

function flagOf(key: string): string {
  const flags: Record<string, string> = {
    queueName: '--queue',
    prefix: '--prefix',
    lockDurationMs: '--lock-duration',
    stalledIntervalMs: '--stalled-interval',
    maxStalledCount: '--max-stalled-count',
    limiter: '--rate-limit',
  }
  return flags[key] ?? key
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error)
  console.error(`runner-worker: ${message}`)
  if (error instanceof CliUsageError) console.error('Run runner-worker --help for the options.')
  process.exit(error instanceof CliUsageError ? 2 : 1)
})
