import { randomUUID } from 'node:crypto'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { RunnerError } from '../errors/runner-error.js'
import type { EnqueueOptions, EnqueueResult, Pool } from '../pool/types.js'
import type { RunOptions, RunResult } from '../runner/types.js'
import { currentWork } from './current.js'

/** Options of `childRuns`. */
export interface ChildRunsOptions {
  /**
   * The parent's agentId, for a group made outside the parent's run or task (an API handler
   * starting children of a run it knows by id). Default: the run or pool task `childRuns` is
   * called inside.
   */
  parent?: string
  /**
   * Report the parent's progress as its children end (`Children: 2 of 4 done`, the share done as
   * the percentage). Default true inside a run or task; off with an explicit `parent`.
   */
  rollUp?: boolean
}

/** Anything with a runner's `run`: every `BaseAgentRunner`, `withFallback(...)`. */
export interface ChildRunner<TAgent, TInput, TOutput> {
  run(agent: TAgent, input: TInput, options?: RunOptions<TOutput>): Promise<RunResult<TOutput>>
}

/** The children a run or task started with `childRuns()`, and how to wait for them. */
export interface ChildRuns {
  /** The children's agentIds, in the order they were started. */
  readonly agentIds: readonly string[]
  /**
   * Starts a child run on any runner (any framework). Its activity records the parent
   * (`metadata.parentId`); the parent's cancel and timeout end it too. Resolves with its result.
   */
  run<TAgent, TInput, TOutput>(
    runner: ChildRunner<TAgent, TInput, TOutput>,
    agent: TAgent,
    input: TInput,
    options?: RunOptions<TOutput>,
  ): Promise<RunResult<TOutput>>
  /**
   * Enqueues a child pool task (it runs on whichever worker of the pool's engine takes it; its
   * activity records the parent). Resolves once it is queued; `all` and `first` wait for its result.
   */
  enqueue(pool: Pool, task: string, input: unknown, options?: EnqueueOptions): Promise<EnqueueResult>
  /**
   * Waits for every child started so far: their results in start order. The first child that
   * fails cancels the others, and `all` rejects with its error.
   */
  all(): Promise<unknown[]>
  /**
   * Waits for the first child to complete: its result; the others are canceled. Rejects with the
   * first child's error when every child failed.
   */
  first(): Promise<unknown>
  /** Cancels every child still running or queued. */
  cancel(reason?: string): Promise<void>
}

interface Child {
  readonly agentId: string
  readonly result: Promise<unknown>
  cancel(reason: string): Promise<void>
}

/**
 * Children of the current run or pool task (or of `options.parent`): child runs of any runner and
 * child pool tasks, with their parent recorded on their activities, cancel and timeout cascading
 * to them, the parent's progress rolled up from them, and `all` / `first` to wait.
 *
 * ```ts
 * const children = childRuns()
 * children.run(openaiRunner, researcher, 'Otters')
 * children.run(claudeRunner, researcher, 'Beavers')
 * const [otters, beavers] = await children.all()
 * ```
 *
 * Throws `RunnerError` when called outside a run or task without `options.parent`.
 */
export function childRuns(options: ChildRunsOptions = {}): ChildRuns {
  const work = currentWork()
  const parentId = options.parent ?? work?.execution.agentId
  if (parentId === undefined) {
    throw new RunnerError(
      'childRuns() was called outside a run or pool task: call it inside one (a tool, a task handler), or give childRuns({ parent: agentId }).',
    )
  }
  const inside = work !== undefined && work.execution.agentId === parentId
  const rollUp = options.rollUp ?? (inside && options.parent === undefined)
  const children: Child[] = []
  let done = 0

  const settled = (): void => {
    done++
    if (!rollUp || !work) return
    const total = children.length
    work.execution
      .report(`Children: ${done} of ${total} done`, Math.round((done / total) * 100))
      .catch(() => {
        // The parent ended meanwhile: its progress no longer matters.
      })
  }

  const add = (child: Child): void => {
    children.push(child)
    child.result.then(settled, settled)
  }

  const cancelOthers = (except: Child | undefined, reason: string) =>
    Promise.allSettled(children.filter((child) => child !== except).map((child) => child.cancel(reason)))

  return {
    get agentIds() {
      return children.map((child) => child.agentId)
    },

    run(runner, agent, input, runOptions = {}) {
      const controller = new AbortController()
      const agentId = runOptions.agentId ?? randomUUID()
      const signal = runOptions.signal
        ? AbortSignal.any([controller.signal, runOptions.signal])
        : controller.signal
      // Inside the parent, the run finds it itself (and follows its signal); elsewhere it is named.
      const result = runner.run(agent, input, {
        ...runOptions,
        agentId,
        signal,
        ...(inside || runOptions.parent !== undefined ? {} : { parent: parentId }),
      })
      add({
        agentId,
        result,
        async cancel(reason) {
          controller.abort(new RunCanceledError(reason))
          await result.catch(() => {})
        },
      })
      return result
    },

    async enqueue(pool, task, input, enqueueOptions = {}) {
      const queued = await pool.enqueue(task, input, { parent: parentId, ...enqueueOptions })
      const result = pool.result(queued.agentId)
      result.catch(() => {})
      add({
        agentId: queued.agentId,
        result,
        async cancel() {
          await pool.cancel(queued.agentId).catch(() => false)
        },
      })
      return queued
    },

    async all() {
      const current = [...children]
      try {
        return await Promise.all(current.map((child) => child.result))
      } catch (error) {
        await cancelOthers(undefined, 'A sibling failed: childRuns().all() cancels the others.')
        throw error
      }
    },

    async first() {
      const current = [...children]
      if (current.length === 0)
        throw new RunnerError('childRuns().first() was called before any child was started.')
      const winner = await Promise.any(
        current.map((child) => child.result.then((value) => ({ child, value }))),
      ).catch(async (error: unknown) => {
        throw error instanceof AggregateError ? error.errors[0] : error
      })
      await cancelOthers(
        winner.child,
        'Another child finished first: childRuns().first() cancels the others.',
      )
      return winner.value
    },

    async cancel(reason = 'Canceled with childRuns().cancel().') {
      await cancelOthers(undefined, reason)
    },
  }
}
