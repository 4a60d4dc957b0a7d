import { tool } from '@langchain/core/tools'
import { type AnyToolDefinition, currentRun } from '@runner/core'

/**
 * A neutral tool (`defineTool`) as a LangChain tool: the same name, description and JSON Schema
 * (which is what the model sees), its zod schema validating the arguments, and the call's signal
 * and id reaching `execute`. It runs inside a run, where `currentRun()` is the run.
 */
export function toLangChainTool(definition: AnyToolDefinition) {
  return tool(
    async (input: unknown, config) => {
      const run = currentRun()
      if (!run) throw new Error(`Tool "${definition.name}" runs inside a run only.`)
      return definition.execute(definition.inputSchema.parse(input), {
        toolCallId: config.toolCall?.id ?? '',
        signal: config.signal ?? run.signal,
        run,
        idempotencyKey: run.idempotencyKey(config.toolCall?.id ?? ''),
      })
    },
    {
      name: definition.name,
      description: definition.description,
      schema: definition.inputSchema,
    },
  )
}
