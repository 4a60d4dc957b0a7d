import type { Activity, AnyToolDefinition, RunEvent, RunResult } from '@runner/core'
import { expect } from 'vitest'
import type { ScenarioPlayer } from '../../scenario/player.js'
import { type Scenario, scenario } from '../../scenario/scenario.js'
import type { RunnerHarness } from '../types.js'

export const prompt = 'Tell me about otters.'
export const answer = 'Otters hold hands while they sleep.'

/** report -> search -> answer, with distinct usages per turn. */
export function researchScenario(): Scenario {
  return scenario()
    .toolCall('report_status', { message: 'Searching the web', percentage: 30 })
    .usage({ inputTokens: 11, outputTokens: 3 })
    .toolCall('search', { query: 'otters' })
    .usage({ inputTokens: 23, outputTokens: 5 })
    .text(answer)
    .usage({ inputTokens: 37, outputTokens: 13 })
}
export const researchUsage = { inputTokens: 71, outputTokens: 21, totalTokens: 92 }

/** Rejects with a clear message when `promise` does not settle in time (a runner that hangs). */
export async function settles<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: did not settle within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** The error `promise` rejects with; fails with `what` when it succeeds or does not settle in time. */
export async function errorOf(promise: Promise<unknown>, ms: number, what: string): Promise<unknown> {
  try {
    await settles(promise, ms, what)
  } catch (error) {
    return error
  }
  throw new Error(`${what}: expected the run to fail, but it succeeded`)
}

/** Waits until `condition` holds, failing with `what` after `ms`. */
export async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

export async function drain(stream: AsyncIterable<RunEvent>): Promise<RunEvent[]> {
  const events: RunEvent[] = []
  for await (const event of stream) events.push(event)
  return events
}

/** The activity log as `status: message` lines. */
export function lifecycleOf(activity: Activity): string[] {
  return activity.log.map((entry) => `${entry.status}: ${entry.message}`)
}

/** The activity log as one line per entry with its percentage, to show in a failure message. */
export function logOf(activity: Activity): string {
  return JSON.stringify(activity.log.map((entry) => [entry.status, entry.message, entry.percentage]))
}

/** The event types of a stream in order, to show in a failure message. */
export function typesOf(events: RunEvent[]): string {
  return events.map((event) => event.type).join(', ')
}

export async function start(
  harness: RunnerHarness,
  script: Scenario,
  tools: AnyToolDefinition[],
): Promise<{ agent: unknown; player: ScenarioPlayer }> {
  return harness.agent(script, tools)
}

/** The model call's signal (which the driver gives to `player.next`) must abort. */
export async function expectCallAborted(player: ScenarioPlayer, call: number, ms: number): Promise<void> {
  const signal = player.calls[call]?.signal
  expect(
    signal,
    'the driver must pass the model call’s signal to player.next(request, { signal })',
  ).toBeDefined()
  await until(() => signal?.aborted === true, ms, 'the model call’s signal must abort')
}

/** No exit path leaves an activity running or queued. */
export function expectNoneRunning(activity: Activity, what: string): void {
  expect(activity.status, `${what}: no exit path may leave an activity running`).not.toBe('running')
  expect(activity.status, `${what}: no exit path may leave an activity queued`).not.toBe('queued')
}

/** The final text of a run that must have completed (a waiting run fails the case, naming why). */
export function textOf(result: RunResult): string {
  expect(result.status, 'the run completes (it is not waiting for a decision)').toBe('complete')
  return result.text ?? ''
}
