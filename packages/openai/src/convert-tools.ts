import {
  type AnyToolDefinition,
  InvalidOptionsError,
  REPORT_STATUS_TOOL_NAME,
  reportStatusTool,
  toolInputJsonSchema,
} from '@runner/core'
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions'
import type { FunctionTool } from 'openai/resources/responses/responses'
import type { ReportStatusMode } from './settings.js'

/**
 * The tools a run offers: `report_status` first (unless the mode is `false` or the agent has a
 * tool of that name), then the agent's. Throws `InvalidOptionsError` on a duplicate name.
 */
export function toolsOfRun(
  agentTools: ReadonlyArray<AnyToolDefinition>,
  mode: ReportStatusMode,
): AnyToolDefinition[] {
  const seen = new Set<string>()
  for (const [position, tool] of agentTools.entries()) {
    if (seen.has(tool.name)) {
      throw new InvalidOptionsError(
        [
          {
            field: `agent.tools.${position}`,
            message: `duplicate tool name "${tool.name}": names must be unique`,
          },
        ],
        { subject: 'agent' },
      )
    }
    seen.add(tool.name)
  }
  const inject = mode !== false && !seen.has(REPORT_STATUS_TOOL_NAME)
  return inject ? [reportStatusTool as AnyToolDefinition, ...agentTools] : [...agentTools]
}

/** Tools in the Chat Completions shape: `{ type: 'function', function: { name, description, parameters } }`. */
export function toChatTools(tools: ReadonlyArray<AnyToolDefinition>): ChatCompletionFunctionTool[] {
  return tools.map((tool) => ({
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: toolInputJsonSchema(tool) },
  }))
}

/**
 * Tools in the Responses shape: `{ type: 'function', name, description, parameters, strict: false }`.
 * `strict` is off because Responses defaults it to on, which needs schemas zod does not produce
 * (every property required, `additionalProperties: false`); the tool's zod schema validates instead.
 */
export function toResponsesTools(tools: ReadonlyArray<AnyToolDefinition>): FunctionTool[] {
  return tools.map((tool) => ({
    type: 'function',
    name: tool.name,
    description: tool.description,
    parameters: toolInputJsonSchema(tool),
    strict: false,
  }))
}

/**
 * A tool call's arguments as the tool's input. JSON is parsed; an empty string is `{}` (some
 * servers send it for a call without arguments); anything that is not JSON is passed on as the
 * raw string, so validation fails and the model reads why instead of the run crashing.
 */
export function parseToolArguments(text: unknown): unknown {
  if (typeof text !== 'string') return text ?? {}
  if (text.trim() === '') return {}
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
