import { ratios, type Stat, stat } from './stats.ts'

/** A target from the issue: `ratio <= 1.05`, `value < 50`... checked against the median. */
export interface Target {
  /** What the limit applies to: the ratio to the reference, or the measured value itself. */
  on: 'ratio' | 'value'
  op: '<=' | '<' | '>='
  limit: number
  /** Short wording for the table ("≤ 1.05× bare", "faster than the peer"). */
  text: string
}

export type Verdict = 'met' | 'missed' | 'info'

/** One line of a case's table. */
export interface Row {
  /** What is measured ("OpenAIRunner vs bare openai"). */
  measure: string
  /** Unit of `value` ("ms/run", "µs/run", "events/s", "MB/1,000 runs"). */
  unit: string
  /** The subject's figure over the repetitions. */
  value: Stat
  /** What the ratio divides by, when there is one. */
  reference?: { name: string; median: number }
  /** `value / reference` per repetition. */
  ratio?: Stat
  /** The same ratio on the CPU time of the benchmark process (case 1): steadier on a busy machine. */
  cpuRatio?: Stat
  target?: Target
  verdict: Verdict
  note?: string
}

export interface CaseSettings {
  [name: string]: string | number | boolean
}

/** What a case gives back. */
export interface CaseResult {
  /** `1-openai`, `3-core`... */
  id: string
  /** The case number (1..6). */
  group: number
  title: string
  status: 'ok' | 'skipped' | 'error'
  /** Why it was skipped, or the error. */
  reason?: string
  rows: Row[]
  /** Sizes and repetitions used, for the record. */
  settings: CaseSettings
  /** Remarks printed under the table. */
  notes: string[]
  durationMs: number
}

export function verdict(target: Target | undefined, value: number, ratio: number | undefined): Verdict {
  if (!target) return 'info'
  const measured = target.on === 'ratio' ? ratio : value
  if (measured === undefined || Number.isNaN(measured)) return 'missed'
  if (target.op === '<=') return measured <= target.limit ? 'met' : 'missed'
  if (target.op === '<') return measured < target.limit ? 'met' : 'missed'
  return measured >= target.limit ? 'met' : 'missed'
}

/** A row comparing a subject with a reference measured in the same rounds. */
export function compareRow(options: {
  measure: string
  unit: string
  subject: readonly number[]
  reference: readonly number[]
  referenceName: string
  /** CPU time per run of the subject and the reference, same rounds. */
  cpu?: { subject: readonly number[]; reference: readonly number[] }
  target?: Target
  note?: string
}): Row {
  const value = stat(options.subject)
  const ratio = stat(ratios(options.subject, options.reference))
  return {
    measure: options.measure,
    unit: options.unit,
    value,
    reference: { name: options.referenceName, median: stat(options.reference).median },
    ratio,
    ...(options.cpu ? { cpuRatio: stat(ratios(options.cpu.subject, options.cpu.reference)) } : {}),
    ...(options.target ? { target: options.target } : {}),
    verdict: verdict(options.target, value.median, ratio.median),
    ...(options.note ? { note: options.note } : {}),
  }
}

/** A row with a measured value and no reference. */
export function valueRow(options: {
  measure: string
  unit: string
  values: readonly number[]
  target?: Target
  note?: string
}): Row {
  const value = stat(options.values)
  return {
    measure: options.measure,
    unit: options.unit,
    value,
    ...(options.target ? { target: options.target } : {}),
    verdict: verdict(options.target, value.median, undefined),
    ...(options.note ? { note: options.note } : {}),
  }
}

/** The targets, worded once. */
export const targets = {
  adapterOverhead: { on: 'ratio', op: '<=', limit: 1.05, text: '≤ 1.05× bare' },
  /** Issue 17: a runner with @runner/otel registered (SDK, no-op exporters) vs without (case 1). */
  otelOverhead: { on: 'ratio', op: '<=', limit: 1.05, text: '≤ 1.05× without' },
  /** A runner with a rate limiter whose limits are never reached vs without (case 1). */
  rateLimiterOverhead: { on: 'ratio', op: '<=', limit: 1.03, text: '≤ 1.03× without' },
  /** Issue 14: LangChainRunner vs the bare `createAgent().invoke` (case 1). */
  langchainOverhead: { on: 'ratio', op: '<=', limit: 1.2, text: '≤ 1.20× bare' },
  /** Issue 14: LangChainRunner.runStreamed vs the bare graph's `streamEvents`, total time (case 2). */
  langchainStreamTotal: { on: 'ratio', op: '<=', limit: 1.15, text: '≤ 1.15× bare' },
  fasterThanPeer: { on: 'ratio', op: '<', limit: 1, text: '< 1× (faster than the peer)' },
  corePerRun: { on: 'value', op: '<', limit: 50, text: '< 50 µs' },
  runStreamThroughput: { on: 'ratio', op: '>=', limit: 0.8, text: '≥ 0.8× a bare async generator' },
  scaleVsBare: { on: 'ratio', op: '<=', limit: 3, text: '≤ 3× bare Node' },
  scaleMemory: { on: 'value', op: '<', limit: 50, text: '< 50 MB per 1,000 runs' },
  bullmqThroughput: { on: 'ratio', op: '>=', limit: 0.8, text: '≥ 0.8× bare BullMQ' },
  aiSdkOverhead: { on: 'ratio', op: '<=', limit: 1.15, text: '≤ 1.15× bare' },
  aiSdkStreamTotal: { on: 'ratio', op: '<=', limit: 1.15, text: '≤ 1.15× bare streamText' },
  enqueue10k: { on: 'value', op: '<=', limit: 3000, text: '≤ 3 s for 10,000' },
  /** Pool throughput with per-key fairness on vs off, local engine (case 3). */
  fairnessThroughput: { on: 'ratio', op: '>=', limit: 0.9, text: '≥ 0.9× fairness off' },
  /** Pool throughput with per-key fairness on vs off, bullmqEngine (case 6-bullmq-fairness). */
  bullmqFairnessThroughput: { on: 'ratio', op: '>=', limit: 0.9, text: '≥ 0.9× fairness off' },
} as const satisfies Record<string, Target>

/** The row with another target than the one it was built with, and the verdict for it. */
export function withTarget(row: Row, target: Target): Row {
  return { ...row, target, verdict: verdict(target, row.value.median, row.ratio?.median) }
}
