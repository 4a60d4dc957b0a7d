import { type AnyToolDefinition, currentRun, defineTool } from '@runner/core'
import { parseToolInput, toolInputJsonSchema } from '@runner/core/adapter'
import { z } from 'zod'
import type { TinyParameters, TinyTool } from './tiny-framework.ts'

/**
 * A `TinyTool` as a neutral tool, so that `runToolCalls` can run it: the tool's JSON Schema
 * becomes the zod schema that validates the model's arguments, and the run's signal and call id
 * reach the handler.
 */
export function fromTinyTool(tool: TinyTool): AnyToolDefinition {
  return defineTool({
    name: tool.name,
    description: tool.description,
    inputSchema: z.fromJSONSchema(tool.parameters as Parameters<typeof z.fromJSONSchema>[0]),
    execute: (args, { signal, toolCallId }) =>
      tool.handler(args as Record<string, unknown>, { signal, callId: toolCallId }),
  })
}

/**
 * A neutral tool (`defineTool`) as a `TinyTool`, to use it in a `TinyAgent`. It must run inside a
 * run (it reads the run through `currentRun()`), which is where `TinyRunner` calls it.
 */
export function toTinyTool(tool: AnyToolDefinition): TinyTool {
  return {
    name: tool.name,
    description: tool.description,
    parameters: toolInputJsonSchema(tool) as TinyParameters,
    handler: async (args, { signal, callId }) => {
      const run = currentRun()
      if (!run) throw new Error(`Tool "${tool.name}" works inside a run only: run the agent with TinyRunner.`)
      // Validate with the tool's own schema too: its defaults and transforms apply as in core.
      return tool.execute(await parseToolInput(tool, args), {
        toolCallId: callId,
        signal,
        run,
        idempotencyKey: run.idempotencyKey(callId),
      })
    },
  }
}
