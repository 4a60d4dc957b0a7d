import { toJsonSchema, toStandardJsonSchema } from '@valibot/to-json-schema'
import { type } from 'arktype'
import * as v from 'valibot'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { InvalidToolInputError } from '../errors/invalid-tool-input-error.js'
import { rejectionOf } from '../test/rejection-of.js'
import { ScriptedModel, ScriptedRunner } from '../test/scripted-runner.js'
import { type AnyToolDefinition, defineTool, toolInputJsonSchema } from './define-tool.js'
import type { StandardSchemaV1 } from './standard-schema.js'
import { parseToolInput } from './tool-call.js'

interface WeatherInput {
  city: string
  units: 'c' | 'f'
}

/** One tool, `weather`, whose validator is given; its `execute` records each input it gets. */
function weatherTool(inputSchema: StandardSchemaV1<unknown, WeatherInput>) {
  const inputs: WeatherInput[] = []
  const tool = defineTool({
    name: 'weather',
    description: 'The weather in a city',
    inputSchema,
    execute: (input) => {
      inputs.push(input)
      return `Sunny in ${input.city}`
    },
  })
  return { tool, inputs }
}

const validators: Array<[string, () => StandardSchemaV1<unknown, WeatherInput>]> = [
  ['zod', () => z.object({ city: z.string().min(1), units: z.enum(['c', 'f']).default('c') })],
  [
    'valibot (toStandardJsonSchema)',
    () =>
      toStandardJsonSchema(
        v.object({
          city: v.pipe(v.string(), v.minLength(1)),
          units: v.optional(v.picklist(['c', 'f']), 'c'),
        }),
      ),
  ],
  ['arktype', () => type({ city: 'string > 0', units: "'c' | 'f' = 'c'" })],
]

/** Runs the tool with one scripted call of `input`; what the model reads back after it. */
async function callOnce(tool: AnyToolDefinition, input: unknown): Promise<unknown> {
  const model = new ScriptedModel([{ toolCalls: [{ name: tool.name, input }] }, { text: 'Done' }])
  const result = await new ScriptedRunner().run({ model, tools: [tool] }, 'Go')
  expect(result).toMatchObject({ status: 'complete', text: 'Done' })
  return model.calls[1]?.messages.at(-1)
}

describe.each(validators)('a tool validated by %s', (_, makeSchema) => {
  it('gives the model the JSON Schema of its input, without $schema', () => {
    const schema = toolInputJsonSchema(weatherTool(makeSchema()).tool)
    expect(schema).toMatchObject({
      type: 'object',
      properties: { city: { type: 'string', minLength: 1 }, units: { enum: ['c', 'f'] } },
      required: ['city'],
    })
    expect(schema).not.toHaveProperty('$schema')
  })

  it('runs execute with the validator output (the default applied)', async () => {
    const { tool, inputs } = weatherTool(makeSchema())
    expect(await callOnce(tool, { city: 'Oslo' })).toBe('weather: Sunny in Oslo')
    expect(inputs).toEqual([{ city: 'Oslo', units: 'c' }])
  })

  it('answers invalid input with an error naming the path, never running the tool', async () => {
    const { tool, inputs } = weatherTool(makeSchema())
    const text = await callOnce(tool, { city: '', units: 'c' })
    expect(text).toMatch(/^weather: Invalid input for tool "weather": city .+ Call it again with arguments/)
    expect(inputs).toEqual([])
  })
})

describe('defineTool with Standard Schema', () => {
  it('keeps the JSON Schema of a zod schema exactly as z.toJSONSchema gives it (draft 7, input side)', () => {
    const schema = z.object({ city: z.string().min(1), units: z.enum(['c', 'f']).default('c') })
    const { $schema: _ignored, ...expected } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' })
    expect(toolInputJsonSchema(weatherTool(schema).tool)).toEqual(expected)
  })

  it('infers the input type from the validator output', () => {
    const tool = defineTool({
      name: 'weather',
      description: 'd',
      inputSchema: v.object({ city: v.string(), days: v.optional(v.number(), 1) }),
      jsonSchema: { type: 'object' },
      execute: (input) => input.days,
    })
    expectTypeOf(tool.execute).parameter(0).toEqualTypeOf<{ city: string; days: number }>()
  })

  it('refuses a validator that cannot convert itself to JSON Schema without jsonSchema, naming jsonSchema', () => {
    const schema = v.object({ city: v.string() })
    let error: unknown
    try {
      defineTool({ name: 'weather', description: 'd', inputSchema: schema, execute: () => 'x' })
    } catch (caught) {
      error = caught
    }
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ field: 'jsonSchema' })
    expect((error as Error).message).toMatch(
      /^Invalid tool "weather": jsonSchema: is required: the valibot inputSchema cannot convert itself to JSON Schema .*toJsonSchema\(schema\) of @valibot\/to-json-schema/,
    )
  })

  it('takes a jsonSchema for such a validator, and the jsonSchema wins over any conversion', async () => {
    const schema = v.object({ city: v.string() })
    const tool = defineTool({
      name: 'weather',
      description: 'd',
      inputSchema: schema,
      jsonSchema: toJsonSchema(schema),
      execute: ({ city }) => `Sunny in ${city}`,
    })
    expect(toolInputJsonSchema(tool)).toEqual({
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
    })
    expect(await callOnce(tool, { city: 'Oslo' })).toBe('weather: Sunny in Oslo')
    expect(await callOnce(tool, { city: 3 })).toMatch(
      /^weather: Invalid input for tool "weather": city Invalid type: Expected string but received 3\./,
    )
    const zodTool = defineTool({
      name: 'weather',
      description: 'd',
      inputSchema: z.object({ city: z.string() }),
      jsonSchema: { type: 'object', properties: { city: { type: 'string', description: 'mine' } } },
      execute: () => 'x',
    })
    expect(toolInputJsonSchema(zodTool)).toEqual({
      type: 'object',
      properties: { city: { type: 'string', description: 'mine' } },
    })
  })

  it('awaits an async validator, for its value and for its issues (nested paths joined by dots)', async () => {
    const seen: unknown[] = []
    const lookup: StandardSchemaV1<unknown, { user: string }> = {
      '~standard': {
        version: 1,
        vendor: 'lookup',
        validate: async (value) => {
          await new Promise((resolve) => setTimeout(resolve, 5))
          const id = (value as { user?: { id?: unknown } }).user?.id
          if (id === 7) return { value: { user: 'Ada' } }
          return { issues: [{ message: 'is not a known user', path: ['user', { key: 'id' }] }] }
        },
      },
    }
    const tool = defineTool({
      name: 'greet',
      description: 'd',
      inputSchema: lookup,
      jsonSchema: { type: 'object', properties: { user: { type: 'object' } } },
      execute: (input) => {
        seen.push(input)
        return `Hello ${input.user}`
      },
    })
    expect(await callOnce(tool, { user: { id: 7 } })).toBe('greet: Hello Ada')
    expect(await callOnce(tool, { user: { id: 8 } })).toMatch(
      /^greet: Invalid input for tool "greet": user\.id is not a known user\./,
    )
    expect(seen).toEqual([{ user: 'Ada' }])
  })

  it('passes the input of a jsonSchema-only tool through unvalidated', async () => {
    const seen: unknown[] = []
    const tool = defineTool<{ query: string }>({
      name: 'search',
      description: 'd',
      jsonSchema: { type: 'object', properties: { query: { type: 'string' } }, $schema: 'x' },
      execute: (input) => {
        seen.push(input)
        return 'found'
      },
    })
    expect(toolInputJsonSchema(tool)).toEqual({ type: 'object', properties: { query: { type: 'string' } } })
    expect(await callOnce(tool, { query: 1, extra: true })).toBe('search: found')
    expect(seen).toEqual([{ query: 1, extra: true }])
  })

  it('refuses an inputSchema that is no validator, a jsonSchema that is no object, and neither', () => {
    const base = { name: 'weather', description: 'd', execute: () => 'x' }
    expect(() => defineTool({ ...base, inputSchema: { parse: () => 1 } as never })).toThrow(
      /^Invalid tool "weather": inputSchema: must be a Standard Schema validator/,
    )
    expect(() => defineTool({ ...base, jsonSchema: [] as never })).toThrow(
      /^Invalid tool "weather": jsonSchema: must be a JSON Schema object/,
    )
    expect(() => defineTool(base as never)).toThrow(/^Invalid tool "weather": inputSchema: is required/)
  })

  it('parseToolInput gives the validator output, or InvalidToolInputError naming the path (for frameworks calling execute)', async () => {
    for (const [, makeSchema] of validators) {
      const { tool } = weatherTool(makeSchema())
      expect(await parseToolInput(tool, { city: 'Oslo' })).toEqual({ city: 'Oslo', units: 'c' })
      const error = await rejectionOf(parseToolInput(tool, { city: '' }))
      expect(InvalidToolInputError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({ toolName: 'weather', input: { city: '' } })
      expect((error as Error).message).toMatch(/^Invalid input for tool "weather": city /)
    }
    const free = defineTool({
      name: 'free',
      description: 'd',
      jsonSchema: { type: 'object' },
      execute: () => 'x',
    })
    expect(await parseToolInput(free, { any: 1 })).toEqual({ any: 1 })
  })
})
