import { asSchema, type Tool } from 'ai'

/** The AI SDK `Schema` made of each tool input schema (zod, Standard Schema), by schema. */
const schemas = new WeakMap<object, ReturnType<typeof asSchema>>()

/**
 * The tool with its input schema as an AI SDK `Schema` (`asSchema`), made once per schema for the
 * process. Given a zod or Standard Schema, the AI SDK makes a new `Schema` of it at each use, so
 * it converts the schema to JSON Schema again for every model request (each step of each run);
 * a `Schema` keeps its JSON Schema once computed. The JSON Schema the model gets and the
 * validation of the model's input are the same: `asSchema` is what the AI SDK applies itself.
 * `Schema`s (`jsonSchema()`, `zodSchema()`), lazy schemas (functions) and provider tools are
 * left as they are.
 */
export function withPreparedSchema(tool: Tool): Tool {
  const schema: unknown = tool.inputSchema
  if (tool.type === 'provider' || typeof schema !== 'object' || schema === null || isSchema(schema))
    return tool
  let prepared = schemas.get(schema)
  if (!prepared) {
    prepared = asSchema(schema as Parameters<typeof asSchema>[0])
    schemas.set(schema, prepared)
  }
  return { ...tool, inputSchema: prepared } as Tool
}

/** An AI SDK `Schema` already (`jsonSchema()`, `zodSchema()`): it keeps its JSON Schema itself. */
function isSchema(value: object): boolean {
  return (value as Record<symbol, unknown>)[Symbol.for('vercel.ai.schema')] === true
}
