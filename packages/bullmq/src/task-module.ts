import type { Pool } from '@runner/core'

/**
 * What a tasks module for `runner-worker` exports, as its default export (or a named export
 * `registerTasks`):
 * - a function that registers the tasks on the pool it is given (the CLI builds the pool from
 *   `RUNNER_*` variables and flags). The same function serves every process: an API calls it on
 *   its own pool to enqueue (it may return the task handles), a test on a local pool;
 * - or a pool built by the module itself (a named export `pool` works too), whose engine is a
 *   `bullmqEngine()`: the CLI only starts the worker.
 */
export type RegisterTasks = (pool: Pool) => unknown

/** What a tasks module was found to export. */
export type TaskModuleEntry = { kind: 'register'; register: RegisterTasks } | { kind: 'pool'; pool: Pool }

const isPool = (value: unknown): value is Pool =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as Pool).task === 'function' &&
  typeof (value as Pool).enqueue === 'function' &&
  typeof (value as Pool).engine === 'object'

/** Finds the register function or the pool in a tasks module's exports; throws a readable error otherwise. */
export function taskModuleEntry(exports: Record<string, unknown>, path: string): TaskModuleEntry {
  for (const name of ['default', 'registerTasks', 'pool']) {
    let value = exports[name]
    // A CommonJS module imported from ESM: its module.exports is `default`.
    if (name === 'default' && typeof value === 'object' && value !== null && !isPool(value)) {
      value = (value as Record<string, unknown>).default ?? (value as Record<string, unknown>).registerTasks
    }
    if (typeof value === 'function') return { kind: 'register', register: value as RegisterTasks }
    if (isPool(value)) return { kind: 'pool', pool: value }
  }
  const found = Object.keys(exports).join(', ') || 'nothing'
  throw new Error(
    `${path} exports no tasks (found: ${found}). Export default a function (pool) => { pool.task(...) } that registers the tasks, or a pool created with createPool({ engine: bullmqEngine(...) }).`,
  )
}
