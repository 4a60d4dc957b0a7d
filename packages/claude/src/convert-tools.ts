import type { Tool } from '@anthropic-ai/sdk/resources/messages'
import { type AnyToolDefinition, InvalidOptionsError, toolInputJsonSchema } from '@runner/core'

/**
 * A neutral tool (`defineTool`) as a Claude client tool: `{ name, description, input_schema }`,
 * the schema being the zod schema's JSON Schema. Claude takes objects as tool input only, so a
 * schema that does not describe an object is refused (`InvalidOptionsError`) before any call.
 */
export function toClaudeTool(tool: AnyToolDefinition): Tool {
  const schema = toolInputJsonSchema(tool)
  if (schema.type !== 'object') {
    throw new InvalidOptionsError(
      [
        {
          field: `agent.tools.${tool.name}.inputSchema`,
          message: 'must be a zod object (z.object({...})): Claude takes an object as tool input',
        },
      ],
      { subject: 'Claude agent' },
    )
  }
  return { name: tool.name, description: tool.description, input_schema: schema as Tool.InputSchema }
}

/**
 * The tools of an agent, with `reportStatus` first (when given) unless the agent brings a tool of
 * that name. Tool names must be unique.
 */
export function agentTools(
  reportStatus: AnyToolDefinition | undefined,
  tools: ReadonlyArray<AnyToolDefinition> | undefined,
): AnyToolDefinition[] {
  const own = tools ?? []
  const all =
    !reportStatus || own.some((tool) => tool.name === reportStatus.name) ? [...own] : [reportStatus, ...own]
  const seen = new Set<string>()
  for (const tool of all) {
    if (seen.has(tool.name)) {
      throw new InvalidOptionsError(
        [{ field: 'agent.tools', message: `has two tools named "${tool.name}": tool names must be unique` }],
        { subject: 'Claude agent' },
      )
    }
    seen.add(tool.name)
  }
  return all
}
