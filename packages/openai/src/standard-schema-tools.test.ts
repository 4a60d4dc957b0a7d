import { type AnyToolDefinition, defineTool, type StandardSchemaV1 } from '@runner/core'
import { type ProtocolFake, type RecordedRequest, scenario, startProtocolFake } from '@runner/testkit'
import { toJsonSchema, toStandardJsonSchema } from '@valibot/to-json-schema'
import { type } from 'arktype'
import * as v from 'valibot'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { OpenAIRunner } from './openai-runner.js'
import { fakeClient } from './test-helpers/fake-client.js'
import { modes, runIn } from './test-helpers/run-modes.js'

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

/** The same `weather` tool, validated by each library; the JSON Schema each gives the model. */
const validators: Array<[string, () => StandardSchemaV1<unknown, WeatherInput>, Record<string, unknown>]> = [
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
    },
  ],
  [
    'arktype',
    () => type({ city: 'string > 0', units: "'c' | 'f' = 'c'" }),
    {
      type: 'object',
      properties: { city: { type: 'string', minLength: 1 }, units: { enum: ['c', 'f'] } },
      required: ['city'],
    },
  ],
]

/** The parameters of the tool `name` in a request, whatever the API. */
function parametersIn(request: RecordedRequest | undefined, name: string): unknown {
  const tools = (request?.body.tools ?? []) as Array<{
    name?: string
    parameters?: unknown
    function?: { name: string; parameters: unknown }
  }>
  for (const tool of tools) {
    if (tool.function?.name === name) return tool.function.parameters
    if (tool.name === name) return tool.parameters
  }
  return undefined
}

/** The output of the first tool result the model read in a request, whatever the API. */
function toolResultIn(request: RecordedRequest | undefined): string | undefined {
  const body = request?.body ?? {}
  if (Array.isArray(body.messages)) {
    const message = (body.messages as Array<{ role: string; content?: string }>).find(
      (candidate) => candidate.role === 'tool',
    )
    return message?.content
  }
  const item = ((body.input ?? []) as Array<{ type?: string; output?: string }>).find(
    (candidate) => candidate.type === 'function_call_output',
  )
  return item?.output
}

describe('tools validated by any Standard Schema library', () => {
  for (const { api, streamed, label } of modes) {
    describe(label, () => {
      for (const [library, makeSchema, expectedSchema] of validators) {
        it(`${library}: the model gets its JSON Schema, execute the validated input, bad input an error naming the path`, async () => {
          const inputs: WeatherInput[] = []
          const weather = defineTool({
            name: 'weather',
            description: 'The weather in a city',
            inputSchema: makeSchema(),
            execute: (input) => {
              inputs.push(input)
              return `Sunny in ${input.city}`
            },
          })
          const { model, player } = fake.play(
            scenario().toolCall('weather', { city: '' }).toolCall('weather', { city: 'Oslo' }).text('Sunny.'),
          )
          const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
          const { result } = await runIn(streamed, runner, { model, api, tools: [weather] }, 'Weather?')
          expect(result.text).toBe('Sunny.')
          const requests = player.calls.map((call) => call.request as RecordedRequest)
          expect(parametersIn(requests[0], 'weather')).toEqual(expectedSchema)
          expect(toolResultIn(requests[1])).toMatch(/^Invalid input for tool "weather": city /)
          expect(inputs).toEqual([{ city: 'Oslo', units: 'c' }])
          player.assertDone()
        })
      }

      it('a tool with a jsonSchema only: the model gets it, execute the input unvalidated', async () => {
        const inputs: unknown[] = []
        const jsonSchema = toJsonSchema(valibotWeather)
        const weather = defineTool({
          name: 'weather',
          description: 'The weather in a city',
          jsonSchema,
          execute: (input) => {
            inputs.push(input)
            return 'Sunny'
          },
        })
        const { model, player } = fake.play(scenario().toolCall('weather', { city: 3 }).text('Sunny.'))
        const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
        await runIn(streamed, runner, { model, api, tools: [weather as AnyToolDefinition] }, 'Weather?')
        const { $schema: _ignored, ...expected } = jsonSchema
        expect(parametersIn(player.calls[0]?.request as RecordedRequest, 'weather')).toEqual(expected)
        expect(inputs).toEqual([{ city: 3 }])
        player.assertDone()
      })
    })
  }
})
