export { rejectionOf, runIn } from '@runner/testkit'

import type { ResumeOptions, RunEvent, RunOptions, RunResult, RunStream } from '@runner/core'
import { type Scenario, ScenarioPlayer } from '@runner/testkit'
import { ToolLoopAgent, type ToolLoopAgentSettings, type ToolSet } from 'ai'
import type { AISDKAgent } from '../agent.js'
import type { AISDKRunner } from '../ai-sdk-runner.js'
import type { AISDKInput } from '../input.js'
import type { AISDKOutput } from '../output.js'
import { scenarioModel } from './scenario-model.js'

type Outcome = { result: RunResult<AISDKOutput>; events: RunEvent<AISDKOutput>[] }

/** Like `runIn`, for runs that may wait: resolves with whatever result the run ends with. */
export function runOrWait(
  streamed: boolean,
  runner: AISDKRunner,
  agent: AISDKAgent,
  input: AISDKInput,
  options?: RunOptions<AISDKOutput>,
): Promise<Outcome> {
  if (!streamed) return runner.run(agent, input, options).then((result) => ({ result, events: [] }))
  return drain(runner.runStreamed(agent, input, options))
}

/** `resume` (streamed: a drained `resumeStreamed`), resolving with the result and the events. */
export function resumeIn(
  streamed: boolean,
  runner: AISDKRunner,
  agent: AISDKAgent,
  agentId: string,
  options?: ResumeOptions<AISDKOutput>,
): Promise<Outcome> {
  if (!streamed) return runner.resume(agent, agentId, options).then((result) => ({ result, events: [] }))
  return drain(runner.resumeStreamed(agent, agentId, options))
}

async function drain(stream: RunStream<AISDKOutput>): Promise<Outcome> {
  const events: RunEvent<AISDKOutput>[] = []
  for await (const event of stream) events.push(event)
  return { result: await stream.result, events }
}

/** The two kinds of agent, run with `run` (generate) or a drained `runStreamed` (stream). */
export const modes: ReadonlyArray<{ kind: 'agent' | 'settings'; streamed: boolean; label: string }> = [
  { kind: 'agent', streamed: false, label: 'ToolLoopAgent, run' },
  { kind: 'agent', streamed: true, label: 'ToolLoopAgent, runStreamed' },
  { kind: 'settings', streamed: false, label: 'settings, run' },
  { kind: 'settings', streamed: true, label: 'settings, runStreamed' },
]

/**
 * An agent of `kind` whose model plays `script`: a ToolLoopAgent (with the runner's
 * `report_status` among its tools) or settings (the runner adds it). The AI SDK's own retries are
 * left as the AI SDK sets them: the runner switches them off.
 */
export function agentOf(
  kind: 'agent' | 'settings',
  runner: AISDKRunner,
  script: Scenario,
  settings: Partial<ToolLoopAgentSettings<never, ToolSet>> = {},
): { agent: AISDKAgent; player: ScenarioPlayer } {
  const player = new ScenarioPlayer(script)
  const model = scenarioModel(player)
  if (kind === 'settings') return { agent: { ...settings, model }, player }
  const tools = { report_status: runner.tools.reportStatus, ...settings.tools }
  const agentSettings = { ...settings, model, tools } as ConstructorParameters<typeof ToolLoopAgent>[0]
  return { agent: new ToolLoopAgent(agentSettings), player }
}

/** The text of every message of a recorded LanguageModelV4 request, joined (system, user, assistant and tool parts). */
export function promptText(request: unknown): string {
  return JSON.stringify((request as { prompt?: unknown }).prompt ?? [])
}
