import { tool } from '@langchain/core/tools'
import { interrupt } from '@langchain/langgraph'
import { type AnyToolDefinition, currentRun } from '@runner/core'
import { parseToolInput, toolInputJsonSchema } from '@runner/core/adapter'
import { z } from 'zod'

/** A decision of `langchain`'s human-in-the-loop format, as the runner resumes an interrupt with it. */
type HitlDecision =
  | { type: 'approve' }
  | { type: 'edit'; editedAction: { name: string; args: Record<string, unknown> } }
  | { type: 'reject'; message?: string }

/**
 * A neutral tool (`defineTool`) as a LangChain tool: the same name, description and JSON Schema
 * (which is what the model sees), its `inputSchema` validating the arguments, and the call's signal
 * and id reaching `execute`. It runs inside a run, where `currentRun()` is the run. A tool with
 * `needsApproval` asks first the way `humanInTheLoopMiddleware` does, with a LangGraph
 * `interrupt()` of the middleware's shape (so it works in any graph, `ToolNode` included): the run
 * waits, and the decision it resumes with runs the tool, runs it with edited input, or answers
 * the model with the rejection.
 */
export function toLangChainTool(definition: AnyToolDefinition) {
  return tool(
    async (input: unknown, config) => {
      const run = currentRun()
      if (!run) throw new Error(`Tool "${definition.name}" runs inside a run only.`)
      let args = input
      const rule = definition.needsApproval
      if (
        rule === true ||
        (typeof rule === 'function' && (await rule(await parseToolInput(definition, args))))
      ) {
        const answer = interrupt({
          actionRequests: [{ name: definition.name, args }],
          reviewConfigs: [{ actionName: definition.name, allowedDecisions: ['approve', 'edit', 'reject'] }],
        }) as { decisions: HitlDecision[] }
        const decision = answer.decisions[0]
        if (decision?.type === 'reject') return decision.message ?? 'Tool call denied'
        if (decision?.type === 'edit') args = decision.editedAction.args
      }
      return definition.execute(await parseToolInput(definition, args), {
        toolCallId: config.toolCall?.id ?? '',
        signal: config.signal ?? run.signal,
        run,
        idempotencyKey: run.idempotencyKey(config.toolCall?.id ?? ''),
      })
    },
    {
      name: definition.name,
      description: definition.description,
      // zod as it is (LangChain validates with it); any other validator as its JSON Schema.
      schema: (definition.inputSchema instanceof z.ZodType
        ? definition.inputSchema
        : toolInputJsonSchema(definition)) as z.ZodType,
    },
  )
}
