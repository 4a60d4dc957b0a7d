import type { RunEvent, RunOptions, RunResult } from '@runner/core'
import { type Scenario, ScenarioPlayer } from '@runner/testkit'
import { ToolLoopAgent, type ToolLoopAgentSettings, type ToolSet } from 'ai'
import type { AISDKAgent } from '../agent.js'
import type { AISDKRunner } from '../ai-sdk-runner.js'
import type { AISDKInput } from '../input.js'
import type { AISDKOutput } from '../output.js'
import { scenarioModel } from './scenario-model.js'

/** The two kinds of agent, run with `run` (generate) or a drained `runStreamed` (stream). */
export const modes: ReadonlyArray<{ kind: 'agent' | 'settings'; streamed: boolean; label: string }> = [
  { kind: 'agent', streamed: false, label: 'ToolLoopAgent, run' },
  { kind: 'agent', streamed: true, label: 'ToolLoopAgent, runStreamed' },
  { kind: 'settings', streamed: false, label: 'settings, run' },
  { kind: 'settings', streamed: true, label: 'settings, runStreamed' },
]

/**
 * An agent of `kind` whose model plays `script`: a ToolLoopAgent (with the runner's
 * `report_status` among its tools) or settings (the runner adds it). `maxRetries: 0`.
 */
export function agentOf(
  kind: 'agent' | 'settings',
  runner: AISDKRunner,
  script: Scenario,
  settings: Partial<ToolLoopAgentSettings<never, ToolSet>> = {},
): { agent: AISDKAgent; player: ScenarioPlayer } {
  const player = new ScenarioPlayer(script)
  const model = scenarioModel(player)
  if (kind === 'settings') return { agent: { maxRetries: 0, ...settings, model }, player }
  const tools = { report_status: runner.tools.reportStatus, ...settings.tools }
  const agentSettings = { maxRetries: 0, ...settings, model, tools } as ConstructorParameters<
    typeof ToolLoopAgent
  >[0]
  return { agent: new ToolLoopAgent(agentSettings), player }
}

/** Runs with `run` or a drained `runStreamed`; resolves with the result and the events seen. */
export async function runIn(
  streamed: boolean,
  runner: AISDKRunner,
  agent: AISDKAgent,
  input: AISDKInput,
  options?: RunOptions<AISDKOutput>,
): Promise<{ result: RunResult<AISDKOutput>; events: RunEvent<AISDKOutput>[] }> {
  if (!streamed) return { result: await runner.run(agent, input, options), events: [] }
  const stream = runner.runStreamed(agent, input, options)
  const events: RunEvent<AISDKOutput>[] = []
  for await (const event of stream) events.push(event)
  return { result: await stream.result, events }
}

/** The rejection of `promise` (fails the test when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection, but the promise resolved')
}

/** The text of every message of a recorded LanguageModelV4 request, joined (system, user, assistant and tool parts). */
export function promptText(request: unknown): string {
  return JSON.stringify((request as { prompt?: unknown }).prompt ?? [])
}
