import {
  type AnyToolDefinition,
  BaseAgentRunner,
  type ExecuteResult,
  type RunContext,
  runToolCalls,
  toolOutputText,
} from '@runner/core'
import { type ModelRequest, type ModelTurn, scriptedModel } from './scripted-model.ts'

/** The agent: instructions and tools. The runner adds `report_status` itself. */
export interface ResearchAgent {
  instructions: string
  tools: AnyToolDefinition[]
}

/**
 * A runner for the scripted model, written the way an adapter is: it owns the tool loop and
 * nothing of the lifecycle. Activity, events, hooks, retries, cancellation, turn limits, usage
 * and trajectories all come from `BaseAgentRunner`.
 */
export class ResearchRunner extends BaseAgentRunner<ResearchAgent, string, ModelTurn> {
  protected override async execute(
    context: RunContext,
    agent: ResearchAgent,
    topic: string,
  ): Promise<ExecuteResult<ModelTurn>> {
    const tools = [this.tools.reportStatus as AnyToolDefinition, ...agent.tools]
    const toolResults: ModelRequest['toolResults'] = []
    for (;;) {
      const { wrapUp } = await context.startTurn()
      const request: ModelRequest = {
        instructions: `${agent.instructions}\n\n${wrapUp ? context.prompts.wrapUp : context.prompts.reportStatus}`,
        topic,
        toolResults: [...toolResults],
        toolNames: wrapUp ? [] : tools.map((tool) => tool.name),
      }
      await context.hooks.modelCallStart({ request })
      const turn = await scriptedModel(request, context.signal)
      context.addUsage(turn.usage)
      if (context.streaming && turn.text) context.emit({ type: 'text-delta', text: turn.text })
      const toolCalls = turn.toolCalls.map((call) => ({
        toolCallId: call.id,
        toolName: call.name,
        input: call.input,
      }))
      await context.hooks.modelCallEnd({
        response: turn,
        text: turn.text,
        toolCalls,
        usage: { ...turn.usage, totalTokens: turn.usage.inputTokens + turn.usage.outputTokens },
      })
      if (toolCalls.length === 0 || wrapUp) return { output: turn, text: turn.text }
      for (const outcome of await runToolCalls(context, tools, toolCalls)) {
        toolResults.push({ name: outcome.toolName, output: toolOutputText(outcome.output) })
      }
      context.endTurn()
    }
  }
}
