import type { Tool } from '@anthropic-ai/sdk/resources/messages'
import { type AnyToolDefinition, InvalidOptionsError } from '@runner/core'
import { toolInputJsonSchema } from '@runner/core/adapter'

/**
 * A neutral tool (`defineTool`) as a Claude client tool: `{ name, description, input_schema }`,
 * the schema being the tool's JSON Schema (`jsonSchema`, else its validator's). Claude takes objects as tool input only, so a
 * schema that does not describe an object is refused (`InvalidOptionsError`) before any call.
 */
export function toClaudeTool(tool: AnyToolDefinition): Tool {
  const schema = toolInputJsonSchema(tool)
  if (schema.type !== 'object') {
    throw new InvalidOptionsError(
      [
        {
          field: `agent.tools.${tool.name}.${tool.jsonSchema === undefined ? 'inputSchema' : 'jsonSchema'}`,
          message:
            tool.jsonSchema === undefined
              ? 'must be a zod object (z.object({...})) or another object schema: Claude takes an object as tool input'
              : 'must describe an object ({ type: "object", ... }): Claude takes an object as tool input',
        },
      ],
      { subject: 'Claude agent' },
    )
  }
  return { name: tool.name, description: tool.description, input_schema: schema as Tool.InputSchema }
}
