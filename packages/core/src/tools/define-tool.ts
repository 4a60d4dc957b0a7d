import { z } from 'zod'
import type { RunContext } from '../runner/types.js'

/** What a tool's `execute` receives besides its input. */
export interface ToolContext {
  /** The id the model gave this call. */
  toolCallId: string
  /** The run's signal: aborts on cancel and timeout. Pass it to anything slow. */
  signal: AbortSignal
  /** The run this call belongs to. */
  run: RunContext
  /**
   * A key stable across attempts and processes (`<agentId>:<toolCallId>`): give it to an external
   * API that dedupes (a payment's idempotency key), to close the window no journal can: a crash
   * after the side effect and before the journal write.
   */
  idempotencyKey: string
}

/**
 * A framework-neutral tool: the shape `OpenAIRunner` and `ClaudeRunner` take, so one agent
 * definition runs on both. Input is validated with `inputSchema` before `execute` runs.
 */
export interface ToolDefinition<TInput = unknown, TOutput = unknown> {
  /** Name the model calls (letters, digits, `_` and `-`, at most 64). */
  name: string
  /** What the tool does, for the model. */
  description: string
  /** Zod schema of the input; also turned into JSON Schema for the model (unless `jsonSchema` is given). */
  inputSchema: z.ZodType<TInput>
  /**
   * The JSON Schema the model gets, as is, instead of the one made from `inputSchema`: for a tool
   * described by JSON Schema elsewhere (an MCP server's tool), whose `inputSchema` is then a loose
   * zod schema (`z.unknown()`) and whose input the tool's own side checks. Treated as read-only.
   */
  jsonSchema?: Record<string, unknown>
  /** Runs the tool. A throw becomes an error result the model reads, never a crashed run. */
  execute(input: TInput, context: ToolContext): Promise<TOutput> | TOutput
  /**
   * Ask a person before each call (or when the function says so for the call's input): the run
   * checkpoints, its activity moves to `waiting` with the call pending, and it resolves with
   * `status: 'waiting'`; `runner.approve` / `deny` and `runner.resume` continue it, in any process.
   * Needs a durable run. Default false.
   */
  needsApproval?: boolean | ((input: TInput) => boolean | Promise<boolean>)
}

// biome-ignore lint/suspicious/noExplicitAny: a list of tools of any input and output type
export type AnyToolDefinition = ToolDefinition<any, any>

const toolNamePattern = /^[a-zA-Z0-9_-]{1,64}$/

/** Defines a neutral tool, checking its name and schema up front. */
export function defineTool<TInput, TOutput>(
  tool: ToolDefinition<TInput, TOutput>,
): ToolDefinition<TInput, TOutput> {
  if (!toolNamePattern.test(tool.name)) {
    throw new TypeError(
      `Invalid tool name "${tool.name}": use 1 to 64 letters, digits, "_" or "-" (the providers' own rule).`,
    )
  }
  if (!(tool.inputSchema instanceof z.ZodType)) {
    throw new TypeError(`Tool "${tool.name}": inputSchema must be a zod schema (zod 4).`)
  }
  if (typeof tool.execute !== 'function')
    throw new TypeError(`Tool "${tool.name}": execute must be a function.`)
  if (
    tool.needsApproval !== undefined &&
    typeof tool.needsApproval !== 'boolean' &&
    typeof tool.needsApproval !== 'function'
  )
    throw new TypeError(`Tool "${tool.name}": needsApproval must be a boolean or a function of the input.`)
  if (
    tool.jsonSchema !== undefined &&
    (typeof tool.jsonSchema !== 'object' || tool.jsonSchema === null || Array.isArray(tool.jsonSchema))
  )
    throw new TypeError(
      `Tool "${tool.name}": jsonSchema must be a JSON Schema object ({ type: 'object', ... }).`,
    )
  return tool
}

const jsonSchemas = new WeakMap<AnyToolDefinition, Record<string, unknown>>()

/**
 * The JSON Schema of a tool's input, for providers that take one: its `jsonSchema` when given (less
 * `$schema`), else made from its zod schema. Computed once per tool (a tool's
 * schema does not change) and shared: treat the result as read-only.
 */
export function toolInputJsonSchema(tool: AnyToolDefinition): Record<string, unknown> {
  const cached = jsonSchemas.get(tool)
  if (cached) return cached
  if (tool.jsonSchema) {
    const { $schema: _ignored, ...given } = tool.jsonSchema
    jsonSchemas.set(tool, given)
    return given
  }
  const schema = z.toJSONSchema(tool.inputSchema, { target: 'draft-7', io: 'input' }) as Record<
    string,
    unknown
  >
  const { $schema: _ignored, ...rest } = schema
  jsonSchemas.set(tool, rest)
  return rest
}
