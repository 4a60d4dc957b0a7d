/**
 * Child process of case 5 (a fresh heap, so that RSS growth is this case's alone):
 * `node --expose-gc 5-scale-child.ts <runs> <latencyMs>`. Starts `runs` runs at once, each one model
 * call of `latencyMs`, bare then through a runner, and prints one JSON line of figures.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { BaseAgentRunner, type ExecuteResult, type RunContext } from '@runner/core'
import { settle } from '../lib/gc.ts'

export interface ScaleFigures {
  runs: number
  latencyMs: number
  bareWallMs: number
  runnerWallMs: number
  /** Peak RSS during the runner's runs minus RSS before them, in MB. */
  peakRssGrowthMb: number
  /** Peak heap used during the runs minus heap used before, in MB. */
  peakHeapGrowthMb: number
  /** Heap used after the runs and a full GC minus before, in MB: what the default memory store keeps. */
  retainedHeapMb: number
}

const MB = 1024 * 1024

/** A model that answers after `latency` ms: one turn, text only. */
class SlowModelRunner extends BaseAgentRunner<number, string, string> {
  protected override async execute(context: RunContext, latency: number): Promise<ExecuteResult<string>> {
    await context.startTurn()
    await context.hooks.modelCallStart({ request: { prompt: 'input' } })
    await sleep(latency, undefined, { signal: context.signal })
    context.addUsage({ inputTokens: 10, outputTokens: 5 })
    await context.hooks.modelCallEnd({ response: { text: 'done' }, text: 'done' })
    return { output: 'done', text: 'done' }
  }
}

async function bareRun(latency: number): Promise<string> {
  await sleep(latency)
  return 'done'
}

async function wall(runs: number, once: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  await Promise.all(Array.from({ length: runs }, once))
  return performance.now() - start
}

const runs = Number(process.argv[2] ?? 1000)
const latency = Number(process.argv[3] ?? 20)
const runner = new SlowModelRunner()

// Warm the code paths (JIT) without growing the measured store much.
await wall(200, () => bareRun(latency))
await wall(200, () => new SlowModelRunner().run(latency, 'input'))
settle()

const bareWallMs = await wall(runs, () => bareRun(latency))
settle()

const before = process.memoryUsage()
let peakRss = before.rss
let peakHeap = before.heapUsed
const sample = () => {
  const usage = process.memoryUsage()
  if (usage.rss > peakRss) peakRss = usage.rss
  if (usage.heapUsed > peakHeap) peakHeap = usage.heapUsed
}
const sampler = setInterval(sample, 2)
const runnerWallMs = await wall(runs, () => runner.run(latency, 'input'))
sample()
clearInterval(sampler)
settle()
const after = process.memoryUsage()

const figures: ScaleFigures = {
  runs,
  latencyMs: latency,
  bareWallMs,
  runnerWallMs,
  peakRssGrowthMb: (peakRss - before.rss) / MB,
  peakHeapGrowthMb: (peakHeap - before.heapUsed) / MB,
  retainedHeapMb: (after.heapUsed - before.heapUsed) / MB,
}
console.log(JSON.stringify(figures))
