import type { DocumentTable, JsonValue } from '../activity/types.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { RunnerError } from '../errors/runner-error.js'
import { currentWork } from '../lifecycle/current.js'
import { abortableSleep } from '../util/abort.js'
import { errorMessage } from '../util/error-message.js'
import { toJson } from './to-json.js'
import type { TaskContext } from './types.js'

/** What a pipeline step receives besides its input. */
export interface StepContext extends Omit<TaskContext<unknown>, 'input' | 'report'> {
  /** The step: its 0-based index, name, and how many steps the pipeline has. */
  step: { index: number; name: string; count: number }
  /**
   * Progress within the step: the message is written as `Step 2/4: read: <message>`, and
   * `percentage` (0..100 of the step) is mapped into the step's share of the pipeline.
   */
  report(message: string, percentage?: number): Promise<void>
}

/** Options of one step. */
export interface StepOptions {
  /** Times a failed step is run again at once, alone (the steps before it are not). Default 0. */
  retries?: number
  /** Wait before a retry of the step, in ms, doubled at each. Default 500. */
  retryDelayMs?: number
}

/** One step: a name, a function from the previous step's output, its options. */
export interface PipelineStep {
  readonly name: string
  readonly run: (input: unknown, context: StepContext) => unknown
  readonly options: StepOptions
}

/**
 * A pipeline: ordered steps, each taking the previous step's output, run as one pool task (it is
 * the task's handler: `pool.task(name, options, pipeline<In>().step(...).step(...))`).
 */
export interface Pipeline<TInput, TOutput> {
  (context: TaskContext<TInput>): Promise<TOutput>
  /** The steps, in order. */
  readonly steps: readonly PipelineStep[]
  /** A pipeline with one more step, whose input is this pipeline's output. */
  step<TNext>(
    name: string,
    run: (input: TOutput, context: StepContext) => TNext | Promise<TNext>,
    options?: StepOptions,
  ): Pipeline<TInput, Awaited<TNext>>
}

/** Namespace of the completed steps' outputs in the store's document table. */
export const PIPELINE_NAMESPACE = 'runner.pipeline-steps'

/**
 * Starts a pipeline whose first step takes `TInput` (the task's input). Each `.step(name, fn)`
 * adds a step; the result is the task handler. Progress `Step 2/4: read` is written before each
 * step; each step's output is kept in the store's documents (when it has them) as soon as the step
 * completes, so a retry of the task, or the task resumed after its worker was lost, skips the
 * completed steps and runs from the failed one. Outputs are deleted once the pipeline completes.
 *
 * ```ts
 * pool.task('report', { input: z.object({ topic: z.string() }), retries: 2 },
 *   pipeline<{ topic: string }>()
 *     .step('search', ({ topic }) => search(topic))
 *     .step('read', (links) => read(links), { retries: 3 })
 *     .step('write', (notes, { agentId, signal }) => writer.run(agent, notes, { agentId, signal })),
 * )
 * ```
 */
export function pipeline<TInput>(): Pipeline<TInput, TInput> {
  return makePipeline<TInput, TInput>([])
}

function makePipeline<TInput, TOutput>(steps: readonly PipelineStep[]): Pipeline<TInput, TOutput> {
  const handler = (context: TaskContext<TInput>) => runPipeline(steps, context) as Promise<TOutput>
  return Object.assign(handler, {
    steps,
    step<TNext>(
      name: string,
      run: (input: TOutput, context: StepContext) => TNext | Promise<TNext>,
      options: StepOptions = {},
    ): Pipeline<TInput, Awaited<TNext>> {
      checkStep(steps, name, run, options)
      return makePipeline<TInput, Awaited<TNext>>([
        ...steps,
        { name, run: run as PipelineStep['run'], options: { ...options } },
      ])
    },
  })
}

function checkStep(steps: readonly PipelineStep[], name: unknown, run: unknown, options: StepOptions): void {
  const issues: { field: string; message: string }[] = []
  const at = `steps[${steps.length}]`
  if (typeof name !== 'string' || name.length === 0 || name.length > 100)
    issues.push({ field: `${at}.name`, message: 'must be a non-empty string of at most 100 characters' })
  else if (steps.some((step) => step.name === name))
    issues.push({
      field: `${at}.name`,
      message: `"${name}" is the name of another step; give each step its own`,
    })
  if (typeof run !== 'function')
    issues.push({ field: `${at}.run`, message: 'must be a function (input, context) => output' })
  const { retries, retryDelayMs } = options ?? {}
  if (retries !== undefined && !(Number.isInteger(retries) && retries >= 0 && retries <= 100))
    issues.push({ field: `${at}.retries`, message: 'must be an integer from 0 to 100' })
  if (retryDelayMs !== undefined && !(Number.isInteger(retryDelayMs) && retryDelayMs >= 0))
    issues.push({ field: `${at}.retryDelayMs`, message: 'must be an integer number of ms, 0 or more' })
  if (issues.length > 0) throw new InvalidOptionsError(issues, { subject: 'pipeline step' })
}

const keyOf = (agentId: string, index: number) => `${agentId}/${String(index).padStart(4, '0')}`

/** Runs the steps in order, from the first one not completed by an earlier attempt. */
async function runPipeline(steps: readonly PipelineStep[], context: TaskContext<unknown>): Promise<unknown> {
  if (steps.length === 0) throw new RunnerError('This pipeline has no steps: add them with .step(name, fn).')
  const documents = currentWork()?.execution.tracker.store.documents
  const count = steps.length
  const { report, input: taskInput, ...rest } = context
  // The outputs of the steps an earlier attempt completed.
  const done = documents ? await documents.list(PIPELINE_NAMESPACE, { prefix: `${context.agentId}/` }) : []
  let value: unknown = taskInput
  let first = 0
  for (const [index] of steps.entries()) {
    const kept = done.find((document) => document.key === keyOf(context.agentId, index))
    if (!kept) break
    value = (kept.value as { output: JsonValue | null }).output
    first = index + 1
  }
  if (first > 0)
    await report(
      `Steps 1-${first} of ${count} completed earlier; going on from ${first < count ? `step ${first + 1}` : 'the end'}`,
    )
  for (let index = first; index < count; index++) {
    const step = steps[index] as PipelineStep
    const label = `Step ${index + 1}/${count}: ${step.name}`
    const share = (fraction: number) => Math.round(((index + fraction) / count) * 100)
    await report(label, share(0))
    const stepContext: StepContext = {
      ...rest,
      step: { index, name: step.name, count },
      report: (message, percentage) =>
        report(
          `${label}: ${message}`,
          percentage === undefined ? undefined : share(Math.min(100, Math.max(0, percentage)) / 100),
        ),
    }
    value = await runStep(step, value, stepContext)
    const json = toJson(value)
    if (!json.ok) {
      throw new RunnerError(
        `${label} returned a value that is not JSON (${json.problem}${json.path ? ` at ${json.path}` : ''}); a step's output must be JSON, as it is kept for the next attempt.`,
      )
    }
    value = json.value ?? null
    if (documents) await keep(documents, context.agentId, index, value as JsonValue)
  }
  if (documents) await documents.deletePrefix(PIPELINE_NAMESPACE, `${context.agentId}/`).catch(() => 0)
  return value
}

/** Runs one step, again on failure while its retries last; the error names the step. */
async function runStep(step: PipelineStep, input: unknown, context: StepContext): Promise<unknown> {
  const retries = step.options.retries ?? 0
  for (let attempt = 0; ; attempt++) {
    try {
      return await step.run(input, context)
    } catch (error) {
      if (context.signal.aborted || attempt >= retries) throw error
      await context.report(
        `failed (${errorMessage(error)}); retrying the step (${attempt + 2} of ${retries + 1})`,
      )
      await abortableSleep((step.options.retryDelayMs ?? 500) * 2 ** attempt, context.signal)
    }
  }
}

async function keep(
  documents: DocumentTable,
  agentId: string,
  index: number,
  output: JsonValue,
): Promise<void> {
  await documents.put(PIPELINE_NAMESPACE, keyOf(agentId, index), { output })
}
