import { createOpenAI } from '@ai-sdk/openai'
import { InvalidOptionsError } from '@runner/core'
import { type ProtocolFake, type RecordedRequest, scenario, startProtocolFake } from '@runner/testkit'
import { toJsonSchema, toStandardJsonSchema } from '@valibot/to-json-schema'
import { jsonSchema, type Tool, tool } from 'ai'
import { type } from 'arktype'
import * as v from 'valibot'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { AISDKRunner } from './ai-sdk-runner.js'
import { rejectionOf, runIn } from './test-helpers/run-modes.js'

// AI SDK tools whose input schema is zod, valibot, arktype or a JSON Schema, run by the real
// @ai-sdk/openai provider over HTTP against the test kit's OpenAI protocol fake.

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(() => fake.close())

interface WeatherInput {
  city: string
  units: 'c' | 'f'
}

const valibotWeather = v.object({
  city: v.pipe(v.string(), v.minLength(1)),
  units: v.optional(v.picklist(['c', 'f']), 'c'),
})

/** The input schema of the same `weather` tool in each library, and what the model gets of it. */
const schemas: Array<[string, () => Tool['inputSchema'], Record<string, unknown>]> = [
  [
    'zod',
    () => z.object({ city: z.string().min(1), units: z.enum(['c', 'f']).default('c') }),
    {
      type: 'object',
      properties: {
        city: { type: 'string', minLength: 1 },
        units: { type: 'string', enum: ['c', 'f'], default: 'c' },
      },
      required: ['city'],
      additionalProperties: false,
    },
  ],
  [
    'valibot',
    () => toStandardJsonSchema(valibotWeather),
    {
      type: 'object',
      properties: {
        city: { type: 'string', minLength: 1 },
        units: { enum: ['c', 'f'], type: 'string', default: 'c' },
      },
      required: ['city'],
      additionalProperties: false,
    },
  ],
  [
    'arktype',
    () => type({ city: 'string > 0', units: "'c' | 'f' = 'c'" }),
    {
      type: 'object',
      properties: { city: { type: 'string', minLength: 1 }, units: { enum: ['c', 'f'] } },
      required: ['city'],
      additionalProperties: false,
    },
  ],
]

const apis = ['responses', 'chat'] as const

function modelOf(api: (typeof apis)[number], name: string) {
  const provider = createOpenAI({ baseURL: fake.openaiBaseURL, apiKey: 'test' })
  return api === 'chat' ? provider.chat(name) : provider(name)
}

/** The parameters of the tool `name` in a request, whatever the API. */
function parametersIn(request: RecordedRequest | undefined, name: string): unknown {
  const tools = (request?.body.tools ?? []) as Array<{
    name?: string
    parameters?: unknown
    function?: { name: string; parameters: unknown }
  }>
  for (const candidate of tools) {
    if (candidate.function?.name === name) return candidate.function.parameters
    if (candidate.name === name) return candidate.parameters
  }
  return undefined
}

/** The output of the first tool result the model read in a request, whatever the API. */
function toolResultIn(request: RecordedRequest | undefined): string {
  const body = request?.body ?? {}
  if (Array.isArray(body.messages)) {
    const message = (body.messages as Array<{ role: string; content?: unknown }>).find(
      (candidate) => candidate.role === 'tool',
    )
    return JSON.stringify(message?.content)
  }
  const item = ((body.input ?? []) as Array<{ type?: string; output?: unknown }>).find(
    (candidate) => candidate.type === 'function_call_output',
  )
  return JSON.stringify(item?.output)
}

describe.each(apis)('AI SDK tools validated by any Standard Schema library (%s)', (api) => {
  for (const [library, makeSchema, expectedSchema] of schemas) {
    it(`${library}: the model gets its JSON Schema, execute the validated input, bad input an error naming the path`, async () => {
      const inputs: WeatherInput[] = []
      const weather = tool({
        description: 'The weather in a city',
        inputSchema: makeSchema(),
        execute: async (input: unknown) => {
          inputs.push(input as WeatherInput)
          return `Sunny in ${(input as WeatherInput).city}`
        },
      })
      const { model, player } = fake.play(
        scenario().toolCall('weather', { city: '' }).toolCall('weather', { city: 'Oslo' }).text('Sunny.'),
      )
      const { result } = await runIn(
        false,
        new AISDKRunner(),
        { model: modelOf(api, model), tools: { weather } },
        'Weather?',
      )
      expect(result.text).toBe('Sunny.')
      const requests = player.calls.map((call) => call.request as RecordedRequest)
      expect(parametersIn(requests[0], 'weather')).toMatchObject(expectedSchema)
      const refusal = toolResultIn(requests[1])
      expect(refusal).toContain('Invalid input for tool weather')
      expect(refusal).toContain('city')
      expect(inputs).toEqual([{ city: 'Oslo', units: 'c' }])
      player.assertDone()
    })
  }

  it('a JSON Schema (jsonSchema() of ai): the model gets it, execute the input as the model wrote it', async () => {
    const inputs: unknown[] = []
    const { $schema: _ignored, ...schema } = toJsonSchema(valibotWeather)
    const weather = tool({
      description: 'The weather in a city',
      inputSchema: jsonSchema(schema),
      execute: async (input: unknown) => {
        inputs.push(input)
        return 'Sunny'
      },
    })
    const { model, player } = fake.play(scenario().toolCall('weather', { city: 'Oslo' }).text('Sunny.'))
    await runIn(false, new AISDKRunner(), { model: modelOf(api, model), tools: { weather } }, 'Weather?')
    expect(parametersIn(player.calls[0]?.request as RecordedRequest, 'weather')).toMatchObject(schema)
    expect(inputs).toEqual([{ city: 'Oslo' }])
    player.assertDone()
  })
})

describe('a Standard Schema the AI SDK cannot turn into JSON Schema', () => {
  it('is refused before any request, naming the tool and what to do', async () => {
    const { model } = fake.play(scenario().text('unreached'))
    const weather = tool({
      description: 'The weather in a city',
      inputSchema: valibotWeather,
      execute: async () => 'Sunny',
    })
    const error = await rejectionOf(
      new AISDKRunner().run({ model: modelOf('responses', model), tools: { weather } }, 'Weather?'),
    )
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ field: 'agent.tools.weather.inputSchema' })
    expect((error as Error).message).toContain('toStandardJsonSchema(schema) of @valibot/to-json-schema')
    expect(fake.requestsFor(model)).toHaveLength(0)
  })
})
