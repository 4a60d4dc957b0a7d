import { type AnyToolDefinition, BaseAgentRunner, type ExecuteResult, type RunContext } from '@runner/core'
import { runToolCalls, toolOutputText } from '@runner/core/adapter'
import { ScenarioPlayer, waitForTurn } from '../scenario/player.js'
import type { Scenario, ScenarioTurn } from '../scenario/scenario.js'

/** The agent of `ScriptedRunner`: a scenario to play and the tools the "model" may call. */
export interface ScriptedAgent {
  player: ScenarioPlayer
  tools?: AnyToolDefinition[]
  instructions?: string
}

/** What the scripted model is asked on each call (kept on `player.calls`). */
export interface ScriptedRequest {
  turn: number
  wrapUp: boolean
  instructions: string
  toolNames: string[]
  /** The prompt, then `<tool>: <output>` for every tool result so far. */
  messages: string[]
}

/** The error a scripted `error(status)` turn throws: it carries `status` like an SDK's API error. */
export class ScriptedModelError extends Error {
  override name = 'ScriptedModelError'
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message)
  }
}

/** Builds a `ScriptedAgent` for a scenario. */
export function scriptedAgent(scenario: Scenario, tools: AnyToolDefinition[] = []): ScriptedAgent {
  return { player: new ScenarioPlayer(scenario), tools }
}

/**
 * The reference runner: a loop over a scenario with no framework at all. It shows the whole of
 * what an adapter does (turns, hooks, usage, streaming, tools) and passes the conformance suite;
 * use it to test code that takes any runner, or as the model for your own.
 */
export class ScriptedRunner extends BaseAgentRunner<ScriptedAgent, string, ScenarioTurn> {
  protected override async execute(
    context: RunContext,
    agent: ScriptedAgent,
    prompt: string,
  ): Promise<ExecuteResult<ScenarioTurn>> {
    const tools = [this.tools.reportStatus as AnyToolDefinition, ...(agent.tools ?? [])]
    const messages = [prompt]
    for (;;) {
      const { turn, wrapUp } = await context.startTurn()
      const request: ScriptedRequest = {
        turn,
        wrapUp,
        instructions: [agent.instructions, wrapUp ? context.prompts.wrapUp : context.prompts.reportStatus]
          .filter(Boolean)
          .join('\n\n'),
        toolNames: wrapUp ? [] : tools.map((tool) => tool.name),
        messages: [...messages],
      }
      await context.hooks.modelCallStart({ request })
      const answer = await playTurn(agent.player, request, context)
      context.addUsage(answer.usage)
      const toolCalls = wrapUp
        ? []
        : answer.toolCalls.map((call) => ({ toolCallId: call.id, toolName: call.name, input: call.input }))
      await context.hooks.modelCallEnd({
        response: answer,
        text: answer.text,
        toolCalls,
        usage: { ...answer.usage, totalTokens: answer.usage.inputTokens + answer.usage.outputTokens },
      })
      if (toolCalls.length === 0) return { output: answer, text: answer.text }
      for (const outcome of await runToolCalls(context, tools, toolCalls)) {
        messages.push(`${outcome.toolName}: ${toolOutputText(outcome.output)}`)
      }
      context.endTurn()
    }
  }
}

/** Plays one turn: waits, fails as scripted, or streams and returns the answer. */
async function playTurn(
  player: ScenarioPlayer,
  request: ScriptedRequest,
  context: RunContext,
): Promise<ScenarioTurn> {
  const turn = player.next(request, { signal: context.signal })
  await waitForTurn(turn, context.signal)
  const fault = turn.fault
  if (fault?.type === 'error') throw new ScriptedModelError(fault.message, fault.status)
  if (fault?.type === 'malformed') throw new ScriptedModelError('Scripted model returned a malformed answer')
  if (context.streaming) {
    if (turn.reasoning) context.emit({ type: 'reasoning-delta', text: turn.reasoning })
    const pieces = turn.text.match(/[\s\S]{1,8}/g) ?? []
    const shown = fault?.type === 'cut-stream' ? pieces.slice(0, Math.ceil(pieces.length / 2)) : pieces
    for (const piece of shown) context.emit({ type: 'text-delta', text: piece })
  }
  if (fault?.type === 'cut-stream')
    throw new ScriptedModelError('Scripted stream was cut in the middle of the answer')
  return turn
}
