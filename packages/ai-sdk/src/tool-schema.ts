import { asSchema, jsonSchema, type Tool, TypeValidationError } from 'ai'

/** The AI SDK `Schema` made of each tool input schema (zod, Standard Schema), by schema. */
const schemas = new WeakMap<object, ReturnType<typeof asSchema>>()

/**
 * The tool with its input schema as an AI SDK `Schema` (`asSchema`), made once per schema for the
 * process. Given a zod or Standard Schema, the AI SDK makes a new `Schema` of it at each use, so
 * it converts the schema to JSON Schema again for every model request (each step of each run);
 * a `Schema` keeps its JSON Schema once computed. The JSON Schema the model gets is the one
 * `asSchema` makes. The model's input is validated by `asSchema` for zod, and by the validator's
 * `~standard.validate` for other Standard Schemas, its result read as the spec says (failed when
 * it has `issues`): the AI SDK's own reading takes a result with a `value` for a success, and
 * valibot gives failures a `value` too. `Schema`s (`jsonSchema()`, `zodSchema()`), lazy schemas
 * (functions that are no Standard Schema) and provider tools are left as they are.
 */
export function withPreparedSchema(tool: Tool): Tool {
  const schema: unknown = tool.inputSchema
  if (tool.type === 'provider' || !isStandardSchemaOrObject(schema) || isSchema(schema)) return tool
  let prepared = schemas.get(schema)
  if (!prepared) {
    prepared = prepare(schema)
    schemas.set(schema, prepared)
  }
  return { ...tool, inputSchema: prepared } as Tool
}

type StandardValidate = (
  value: unknown,
) =>
  | { value?: unknown; issues?: ReadonlyArray<unknown> }
  | Promise<{ value?: unknown; issues?: ReadonlyArray<unknown> }>

function prepare(schema: object): ReturnType<typeof asSchema> {
  const standard = (schema as { '~standard'?: { vendor?: unknown; validate?: unknown } })['~standard']
  const converted = asSchema(schema as Parameters<typeof asSchema>[0])
  if (standard === undefined || standard.vendor === 'zod' || typeof standard.validate !== 'function')
    return converted
  const validate = standard.validate as StandardValidate
  return jsonSchema(() => converted.jsonSchema, {
    validate: async (value) => {
      const result = await validate(value)
      return result.issues === undefined
        ? { success: true, value: result.value }
        : { success: false, error: new TypeValidationError({ value, cause: result.issues }) }
    },
  }) as ReturnType<typeof asSchema>
}

/** An object, or a function carrying `~standard` (an arktype type): what `asSchema` converts. */
function isStandardSchemaOrObject(value: unknown): value is object {
  if (typeof value === 'object') return value !== null
  return typeof value === 'function' && '~standard' in value
}

/** An AI SDK `Schema` already (`jsonSchema()`, `zodSchema()`): it keeps its JSON Schema itself. */
function isSchema(value: object): boolean {
  return (value as Record<symbol, unknown>)[Symbol.for('vercel.ai.schema')] === true
}
