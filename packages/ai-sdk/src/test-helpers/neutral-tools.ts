import { type AnyToolDefinition, currentRun } from '@runner/core'
import { toolInputJsonSchema } from '@runner/core/adapter'
import { searchTool } from '@runner/core/test'
import { jsonSchema, type ToolSet, tool } from 'ai'

/**
 * The test kit's neutral tools (`defineTool`) as AI SDK tools: same name, description and input
 * schema (its JSON Schema for a tool without one), `needsApproval` kept; `execute` gets the AI
 * SDK's `abortSignal` as its `signal`, and the run through `currentRun()`.
 */
export function toAISDKTools(tools: ReadonlyArray<AnyToolDefinition>): ToolSet {
  return Object.fromEntries(
    tools.map((definition) => [
      definition.name,
      tool({
        description: definition.description,
        inputSchema: definition.inputSchema ?? jsonSchema(toolInputJsonSchema(definition)),
        // The AI SDK's own approval: the runner suspends the run on its approval request.
        ...(definition.needsApproval === undefined ? {} : { needsApproval: definition.needsApproval }),
        async execute(input: unknown, { toolCallId, abortSignal }) {
          const run = currentRun()
          if (!run) throw new Error(`${definition.name} runs inside a run only`)
          return definition.execute(input, {
            toolCallId,
            signal: abortSignal ?? run.signal,
            run,
            idempotencyKey: run.idempotencyKey(toolCallId),
          })
        },
      }),
    ]),
  )
}

/** Core's recording `search` test tool as an AI SDK tool set, and the queries it was called with. */
export function searchTools(): { tools: ToolSet; queries: string[] } {
  const { tool: search, queries } = searchTool()
  return { tools: toAISDKTools([search]), queries }
}
