import type { Activity, PendingRequest } from '@runner/core'
import { expect } from 'vitest'
import { type Scenario, scenario } from '../../scenario/scenario.js'
import type { RunnerHarness } from '../types.js'
import { answer, prompt, settles } from './case-helpers.js'
import type { CaseContext, OpenedHarness } from './conformance-case.js'

/** Why a case that needs a second runner instance is skipped. */
export const reopenMissing =
  'needs a second runner instance over the same store, and the harness has no reopen(): add `reopen: createHarness` to the harness (or a function that builds the runner with the runnerOptions it is given) to run it'

/**
 * Skips the case when the runner is not durable and `features.durable` leaves it to the runner;
 * fails it when `features.durable` declares the runner durable but its capabilities do not.
 */
export function requireDurable(context: CaseContext, harness: RunnerHarness): void {
  const declared = harness.runner.capabilities.durable
  if (context.features.durable === undefined && !declared) {
    context.skip(
      'the runner declares capabilities.durable: false, so its runs cannot resume; capability.durable checks that resume is refused instead',
    )
  }
  expect(
    declared,
    'a runner declared durable (features.durable: true) reports capabilities.durable: true',
  ).toBe(true)
}

/** Skips the case, before any run starts, when the harness cannot build a second runner instance. */
export function requireReopen(context: CaseContext, opened: OpenedHarness): void {
  if (!opened.harness.reopen) context.skip(reopenMissing)
}

/** Waits until the async `condition` holds, failing with `what` after `ms`. */
export async function eventually(condition: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/**
 * A recorded model request as text, to look for what the model was told whatever the request's
 * shape (a framework's messages, a protocol body): JSON, with cycles and what JSON cannot hold
 * left out.
 */
export function requestText(request: unknown): string {
  const seen = new WeakSet<object>()
  try {
    return (
      JSON.stringify(request, (_key, value: unknown) => {
        if (typeof value === 'bigint') return String(value)
        if (typeof value === 'object' && value !== null) {
          if (seen.has(value)) return undefined
          seen.add(value)
        }
        return value
      }) ?? ''
    )
  } catch {
    return String(request)
  }
}

/** How many times each value occurs. */
export function countOf(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1
  return counts
}

/** The statuses an activity went through, consecutive repeats collapsed. */
export function statusesOf(activity: Activity): string[] {
  const statuses: string[] = []
  for (const entry of activity.log) if (statuses.at(-1) !== entry.status) statuses.push(entry.status)
  return statuses
}

/** What the approval cases' model asks for first: a search (no approval) and an email (approval). */
export const approvalCalls = [
  { name: 'search', input: { query: 'otters' } },
  { name: 'send_email', input: { to: 'ada@example.org' } },
]
const approvalAskUsage = { inputTokens: 13, outputTokens: 4 }
const approvalAnswerUsage = { inputTokens: 29, outputTokens: 6 }
/** The usage of both turns of the approval scenario. */
export const approvalUsage = { inputTokens: 42, outputTokens: 10, totalTokens: 52 }

/** The turn that asks for the search and the email: the run waits after it. */
export function approvalAsk(): Scenario {
  return scenario().toolCalls(approvalCalls).usage(approvalAskUsage)
}

/** The turn after the decision: the final answer. */
export function approvalAnswer(): Scenario {
  return scenario().text(answer).usage(approvalAnswerUsage)
}

/** Both turns, for a run suspended and resumed with the same agent. */
export function approvalScenario(): Scenario {
  return scenario().toolCalls(approvalCalls).usage(approvalAskUsage).text(answer).usage(approvalAnswerUsage)
}

/**
 * Runs `agent` until its `send_email` call suspends the run, and checks the waiting run: result
 * `waiting` naming the call, activity `waiting`, the store's record pending with a checkpoint.
 * Returns the pending request.
 */
export async function suspendOnApproval(
  opened: OpenedHarness,
  agent: unknown,
  agentId: string,
  settleMs: number,
): Promise<PendingRequest> {
  const { harness, activity } = opened
  const result = await settles(
    harness.runner.run(agent, harness.input(prompt), { agentId }),
    settleMs,
    'a run whose tool call needs approval must resolve (waiting) instead of hanging',
  )
  expect(
    result.status,
    "a call to a tool with needsApproval suspends the run: it resolves with status 'waiting' (the harness's agent() must keep needsApproval when it converts the tools)",
  ).toBe('waiting')
  if (result.status !== 'waiting') throw new Error('unreachable: the run is waiting')
  expect(
    result.pending.map((request) => [request.kind, request.toolName, request.input]),
    "the waiting result names the call that waits (result.pending): kind 'approval', toolName send_email, the model's input",
  ).toEqual([['approval', 'send_email', { to: 'ada@example.org' }]])
  const pending = result.pending[0] as PendingRequest
  expect(result.turns, 'the waiting result counts the turns made so far (1)').toBe(1)
  const detail = await activity.detail(agentId)
  expect(detail.status, "a run that waits for approval moves its activity to 'waiting'").toBe('waiting')
  expect(
    detail.log.at(-1)?.status,
    "the wait is the last entry of the activity log, with status 'waiting'",
  ).toBe('waiting')
  const record = await activity.store.getRun(agentId)
  expect(
    record?.pending?.map((request) => [request.id, request.toolName]),
    'store.getRun(agentId).pending names the call that waits, with the id of result.pending',
  ).toEqual([[pending.id, 'send_email']])
  expect(record?.checkpoint, 'a run that waits has saved a checkpoint to continue from').toBeDefined()
  return pending
}
