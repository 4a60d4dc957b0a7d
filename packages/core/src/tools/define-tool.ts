import { z } from 'zod'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import type { RunContext } from '../runner/types.js'
import { errorMessage } from '../util/error-message.js'
import type { StandardJSONSchemaV1, StandardSchemaV1 } from './standard-schema.js'

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
 * definition runs on both. Input is validated with `inputSchema` before `execute` runs; the model
 * gets `jsonSchema`, else the JSON Schema of `inputSchema`.
 */
export interface ToolDefinition<TInput = unknown, TOutput = unknown> {
  /** Name the model calls (letters, digits, `_` and `-`, at most 64). */
  name: string
  /** What the tool does, for the model. */
  description: string
  /**
   * The input's validator: any Standard Schema v1 (zod 4, valibot, arktype, effect schema...).
   * `execute` receives its output (defaults applied, transforms run). Its JSON Schema for the
   * model comes from the validator itself (zod's `z.toJSONSchema`, or `~standard.jsonSchema`),
   * unless `jsonSchema` is given. Leave it out (and give `jsonSchema`) to take input unvalidated.
   */
  inputSchema?: StandardSchemaV1<unknown, TInput>
  /**
   * The JSON Schema of the input the model gets, over the validator's own (its `$schema` key is
   * dropped). Required when `inputSchema` has no JSON Schema conversion; alone (no `inputSchema`),
   * the input reaches `execute` as the model wrote it, unvalidated.
   */
  jsonSchema?: object
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

/** Whether a value is a Standard Schema v1 validator (`~standard.validate`). */
function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false
  const standard = (value as { '~standard'?: unknown })['~standard']
  return (
    typeof standard === 'object' &&
    standard !== null &&
    typeof (standard as { validate?: unknown }).validate === 'function'
  )
}

/** The Standard JSON Schema converter of a validator (`~standard.jsonSchema`), if it has one. */
function jsonSchemaConverter(schema: StandardSchemaV1): StandardJSONSchemaV1.Converter | undefined {
  const converter = (schema['~standard'] as { jsonSchema?: Partial<StandardJSONSchemaV1.Converter> })
    .jsonSchema
  return typeof converter?.input === 'function' ? (converter as StandardJSONSchemaV1.Converter) : undefined
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Whether a value has the shape of a `defineTool` tool: a name, an `execute`, and an `inputSchema`
 * validator or a `jsonSchema`. What adapters check an agent's tools with.
 */
export function isToolDefinition(value: unknown): value is AnyToolDefinition {
  if (typeof value !== 'object' || value === null) return false
  const tool = value as Record<string, unknown>
  return (
    typeof tool.name === 'string' &&
    typeof tool.execute === 'function' &&
    (isStandardSchema(tool.inputSchema) || isPlainObject(tool.jsonSchema))
  )
}

/**
 * Defines a neutral tool, checking its name and schemas up front: an `inputSchema` that is not a
 * Standard Schema, a `jsonSchema` that is not an object, neither of them, or a validator with no
 * JSON Schema conversion and no `jsonSchema` throws `InvalidOptionsError` naming the field.
 */
export function defineTool<TInput, TOutput = unknown>(
  tool: ToolDefinition<TInput, TOutput>,
): ToolDefinition<TInput, TOutput> {
  if (!toolNamePattern.test(tool.name)) {
    throw new TypeError(
      `Invalid tool name "${tool.name}": use 1 to 64 letters, digits, "_" or "-" (the providers' own rule).`,
    )
  }
  const invalid = (field: string, message: string) =>
    new InvalidOptionsError([{ field, message }], { subject: `tool "${tool.name}"` })
  const { inputSchema, jsonSchema } = tool
  if (inputSchema !== undefined && !isStandardSchema(inputSchema)) {
    throw invalid(
      'inputSchema',
      'must be a Standard Schema validator (a zod schema (zod 4), valibot, arktype, effect schema...); to give only a JSON Schema, leave inputSchema out and pass jsonSchema',
    )
  }
  if (jsonSchema !== undefined && !isPlainObject(jsonSchema)) {
    throw invalid('jsonSchema', 'must be a JSON Schema object ({ type: "object", properties: {...} })')
  }
  if (inputSchema === undefined && jsonSchema === undefined) {
    throw invalid(
      'inputSchema',
      'is required: pass a Standard Schema validator (a zod schema...), or a jsonSchema to take the input unvalidated',
    )
  }
  if (
    inputSchema !== undefined &&
    jsonSchema === undefined &&
    !(inputSchema instanceof z.ZodType) &&
    jsonSchemaConverter(inputSchema) === undefined
  ) {
    const vendor = inputSchema['~standard'].vendor
    throw invalid(
      'jsonSchema',
      `is required: the ${vendor} inputSchema cannot convert itself to JSON Schema (it has no ~standard.jsonSchema), so pass the input's JSON Schema as jsonSchema (for valibot: toJsonSchema(schema) of @valibot/to-json-schema, or give inputSchema: toStandardJsonSchema(schema))`,
    )
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

/** The JSON Schema targets tried in order with a Standard JSON Schema converter. */
const standardTargets: StandardJSONSchemaV1.Target[] = ['draft-07', 'draft-2020-12']

/**
 * The JSON Schema of a tool's input, for providers that take one: the tool's `jsonSchema`, else
 * zod's `z.toJSONSchema` (draft 7, the input side), else the validator's `~standard.jsonSchema`
 * (draft-07, else draft-2020-12), without its `$schema` key. Computed once per tool (a tool's
 * schema does not change) and shared: treat the result as read-only.
 */
export function toolInputJsonSchema(tool: AnyToolDefinition): Record<string, unknown> {
  const cached = jsonSchemas.get(tool)
  if (cached) return cached
  const { $schema: _ignored, ...rest } = computeJsonSchema(tool)
  jsonSchemas.set(tool, rest)
  return rest
}

function computeJsonSchema(tool: AnyToolDefinition): Record<string, unknown> {
  if (tool.jsonSchema !== undefined) return tool.jsonSchema as Record<string, unknown>
  const schema = tool.inputSchema
  if (schema instanceof z.ZodType) {
    return z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>
  }
  const converter = schema === undefined ? undefined : jsonSchemaConverter(schema)
  const failures: string[] = []
  if (converter) {
    for (const target of standardTargets) {
      try {
        return converter.input({ target })
      } catch (error) {
        failures.push(`${target}: ${errorMessage(error)}`)
      }
    }
  }
  throw new InvalidOptionsError(
    [
      {
        field: 'jsonSchema',
        message: `is required: the inputSchema could not be converted to JSON Schema${failures.length > 0 ? ` (${failures.join('; ')})` : ''}; pass the input's JSON Schema as jsonSchema`,
      },
    ],
    { subject: `tool "${tool.name}"` },
  )
}
