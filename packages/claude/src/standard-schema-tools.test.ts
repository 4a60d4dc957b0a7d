import type { MessageParam } from '@anthropic-ai/sdk/resources/messages'
import { defineTool, InvalidOptionsError, type StandardSchemaV1 } from '@runner/core'
import { scenario } from '@runner/testkit'
import { describe, expect, it } from 'vitest'
import { claudeOnFake, rejectionOf } from './test-helpers/harness.js'

interface Body {
  tools?: Array<{ name: string; input_schema: Record<string, unknown> }>
  messages: MessageParam[]
}

const cityJsonSchema = {
  type: 'object',
  properties: { city: { type: 'string', minLength: 1 } },
  required: ['city'],
}

/** A Standard Schema validator that converts itself to JSON Schema (`~standard.jsonSchema`), as arktype's do. */
const city: StandardSchemaV1<unknown, { city: string }> = {
  '~standard': {
    version: 1,
    vendor: 'handmade',
    validate: (value) => {
      const name = (value as { city?: unknown }).city
      return typeof name === 'string' && name !== ''
        ? { value: { city: name.toUpperCase() } }
        : { issues: [{ message: 'must be a non-empty string', path: [{ key: 'city' }] }] }
    },
    jsonSchema: {
      input: () => ({ $schema: 'http://json-schema.org/draft-07/schema#', ...cityJsonSchema }),
      output: () => cityJsonSchema,
    },
  } as StandardSchemaV1.Props<unknown, { city: string }>,
}

/** The text of the tool result in the last message of a request. */
function toolResultOf(body: Body): unknown {
  const content = body.messages.at(-1)?.content
  return Array.isArray(content) ? (content[0] as { content?: unknown }).content : undefined
}

describe('ClaudeRunner with tools of any Standard Schema, or a JSON Schema alone', () => {
  it("sends the validator's JSON Schema, runs execute with its output, and answers bad input naming the path", async () => {
    await using claude = await claudeOnFake()
    const seen: unknown[] = []
    const weather = defineTool({
      name: 'weather',
      description: 'The weather in a city',
      inputSchema: city,
      execute: (input) => {
        seen.push(input)
        return `Sunny in ${input.city}`
      },
    })
    const { model } = claude.fake.play(
      scenario().toolCall('weather', { city: '' }).toolCall('weather', { city: 'oslo' }).text('Sunny.'),
    )
    const result = await claude.runner.run({ model, maxTokens: 100, tools: [weather] }, 'Weather?')
    expect(result.text).toBe('Sunny.')
    const bodies = claude.fake.requestsFor(model).map((request) => request.body as unknown as Body)
    expect(bodies[0]?.tools?.find((tool) => tool.name === 'weather')?.input_schema).toEqual(cityJsonSchema)
    expect(String(toolResultOf(bodies[1]!))).toMatch(
      /^Invalid input for tool "weather": city must be a non-empty string\./,
    )
    expect(toolResultOf(bodies[2]!)).toBe('Sunny in OSLO')
    expect(seen).toEqual([{ city: 'OSLO' }])
  })

  it('sends a jsonSchema-only tool its JSON Schema and passes the input through; refuses one not describing an object', async () => {
    await using claude = await claudeOnFake()
    const seen: unknown[] = []
    const weather = defineTool({
      name: 'weather',
      description: 'The weather in a city',
      jsonSchema: cityJsonSchema,
      execute: (input) => {
        seen.push(input)
        return 'Sunny'
      },
    })
    const { model } = claude.fake.play(scenario().toolCall('weather', { city: 3 }).text('Sunny.'))
    await claude.runner.run({ model, maxTokens: 100, tools: [weather] }, 'Weather?')
    const body = claude.fake.requestsFor(model)[0]?.body as unknown as Body
    expect(body.tools?.find((tool) => tool.name === 'weather')?.input_schema).toEqual(cityJsonSchema)
    expect(seen).toEqual([{ city: 3 }])

    const text = defineTool({
      name: 'echo',
      description: 'Echo',
      jsonSchema: { type: 'string' },
      execute: () => 'x',
    })
    const error = await rejectionOf(claude.runner.run({ model: 'm', maxTokens: 10, tools: [text] }, 'q'))
    expect(InvalidOptionsError.isInstance(error), String(error)).toBe(true)
    expect(error).toMatchObject({ field: 'agent.tools.echo.jsonSchema' })
    expect((error as Error).message).toContain('must describe an object')
  })
})
