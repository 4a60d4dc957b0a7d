import type { AnyToolDefinition } from '@runner/core'
import { toolInputJsonSchema } from '@runner/core/adapter'
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions'
import type { FunctionTool } from 'openai/resources/responses/responses'

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
 * (every property required, `additionalProperties: false`); the tool's `inputSchema` validates instead.
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
