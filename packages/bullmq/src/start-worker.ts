import { InvalidOptionsError } from '@runner/core'
import { parseOrThrow } from '@runner/core/adapter'
import { isBullMQEngine, startWorkerOnEngine } from './bullmq-engine.js'
import { startWorkerOptionsSchema } from './options.js'
import type { RunnerWorker, StartWorkerOptions } from './types.js'

/** Default of `shutdownTimeoutMs`. */
const defaultShutdownTimeoutMs = 30_000

/**
 * Makes this process a worker: it takes jobs from the pool's BullMQ queue and runs them with the
 * tasks registered on the pool, at most `concurrency` at once. Resolves once the worker listens for
 * cancels and takes jobs.
 *
 * A process that only enqueues (an API) never calls it. By default the worker shuts down gracefully
 * on SIGTERM and SIGINT: it stops taking jobs, lets running ones finish for `shutdownTimeoutMs`,
 * cancels the rest (their activities end `canceled`, never left `running`), runs `onShutdown`, and
 * exits. A process killed without that (SIGKILL, a crash) loses nothing either: its jobs are
 * redelivered to other workers once their locks expire.
 *
 * ```ts
 * const pool = createPool({ activity, engine: bullmqEngine({ connection, queueName: 'research' }), concurrency: 8 })
 * registerTasks(pool)
 * await startWorker({ pool, onShutdown: () => store.close() })
 * ```
 */
export async function startWorker(options: StartWorkerOptions): Promise<RunnerWorker> {
  const valid = parseOrThrow(startWorkerOptionsSchema, options, 'startWorker options')
  const { pool } = valid
  const engine = pool.engine
  if (!isBullMQEngine(engine)) {
    throw new InvalidOptionsError(
      [
        {
          field: 'pool',
          message: `its engine is "${engine.name}"; startWorker needs a pool created with createPool({ engine: bullmqEngine(...) }) (a local pool already runs its tasks)`,
        },
      ],
      { subject: 'startWorker options' },
    )
  }
  const worker = await engine[startWorkerOnEngine](
    valid.concurrency === undefined ? {} : { concurrency: valid.concurrency },
  )

  const signals = valid.signals === undefined ? (['SIGTERM', 'SIGINT'] as const) : valid.signals
  if (signals !== false && signals.length > 0) {
    const timeoutMs = valid.shutdownTimeoutMs ?? defaultShutdownTimeoutMs
    let shuttingDown = false
    const onSignal = () => {
      if (shuttingDown) {
        // A second signal: stop now. Running jobs are recovered by other workers, as after a crash.
        process.exit(1)
      }
      shuttingDown = true
      void (async () => {
        let code = 0
        try {
          // Closing the worker first decides the fate of the tasks still running at the timeout.
          // Handed back, they are abandoned here: onShutdown (the store closed) comes before the
          // jobs go back to the queue, and the process exits at once after.
          let handedBack = false
          await worker.close({
            timeoutMs,
            atTimeout: valid.requeueOnShutdown ? 'hand-back' : 'cancel',
            beforeHandBack: async () => {
              handedBack = true
              await valid.onShutdown?.()
            },
          })
          if (!handedBack) {
            await pool.close({ timeoutMs })
            await valid.onShutdown?.()
          }
        } catch (error) {
          code = 1
          console.error(`[@runner/bullmq] worker ${worker.id} could not shut down cleanly:`, error)
        }
        process.exit(code)
      })()
    }
    for (const signal of signals) process.on(signal, onSignal)
    void worker.closed.then(() => {
      if (shuttingDown) return
      for (const signal of signals) process.off(signal, onSignal)
    })
  }
  return worker
}
