import { defineTool, type RunEvent } from '@runner/core'
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { OpenAIRunner } from './openai-runner.js'
import { fakeClient } from './test-helpers/fake-client.js'
import { rewritingFetch } from './test-helpers/rewriting-fetch.js'
import { modes, runIn } from './test-helpers/run-modes.js'

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(() => fake.close())

const search = defineTool({
  name: 'search',
  description: 'Searches.',
  inputSchema: z.object({ query: z.string() }),
  execute: ({ query }) => `results for ${query}`,
})

const textOf = (events: RunEvent[], type: 'text-delta' | 'reasoning-delta') =>
  events.flatMap((event) => (event.type === type ? [event.text] : [])).join('')

describe('events', () => {
  for (const { api, streamed, label } of modes.filter((mode) => mode.streamed)) {
    it(`${label}: text in deltas, a tool call once its arguments are complete, then its result`, async () => {
      const { model } = fake.play(
        scenario()
          .toolCall('search', { query: 'sea otters' }, { text: 'Let me look.' })
          .text('Otters float.'),
      )
      const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
      const { events } = await runIn(streamed, runner, { model, api, tools: [search] }, 'x')
      const deltas = events.filter((event) => event.type === 'text-delta')
      expect(deltas.length).toBeGreaterThan(2)
      expect(textOf(events, 'text-delta')).toBe('Let me look.Otters float.')
      const types = events.map((event) => event.type)
      const call = events.find((event) => event.type === 'tool-call')
      expect(call).toEqual({
        type: 'tool-call',
        toolCallId: 'call_0_0',
        toolName: 'search',
        input: { query: 'sea otters' },
      })
      expect(types.indexOf('tool-call')).toBeGreaterThan(types.indexOf('text-delta'))
      expect(types.indexOf('tool-result')).toBeGreaterThan(types.indexOf('tool-call'))
      expect(types.filter((type) => type === 'native')).toEqual([])
    })
  }

  it('responses: reasoning summaries stream as reasoning-delta events, before the answer', async () => {
    const { model } = fake.play(scenario().text('Otters float.', { reasoning: 'The sources agree on this.' }))
    const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
    const { events } = await runIn(
      true,
      runner,
      { model, api: 'responses', modelSettings: { reasoningSummary: 'auto' } },
      'x',
    )
    expect(textOf(events, 'reasoning-delta')).toBe('The sources agree on this.')
    expect(textOf(events, 'text-delta')).toBe('Otters float.')
    const types = events.map((event) => event.type)
    expect(types.lastIndexOf('reasoning-delta')).toBeLessThan(types.indexOf('text-delta'))
  })

  it('chat: the reasoning text of compatible servers (reasoning_content, reasoning) streams as reasoning-delta', async () => {
    const { model } = fake.play(scenario().text('Answer.'))
    let piece = 0
    const withReasoning = rewritingFetch((chunk) => {
      const choice = (chunk.choices as Array<{ delta: Record<string, unknown> }> | undefined)?.[0]
      if (!choice || choice.delta.content === undefined) return chunk
      piece += 1
      // vLLM and LM Studio name it reasoning_content, Ollama reasoning.
      if (piece === 1) choice.delta = { ...choice.delta, reasoning_content: 'Thinking, ' }
      if (piece === 2) choice.delta = { ...choice.delta, reasoning: 'still thinking.' }
      return chunk
    })
    const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL, { fetch: withReasoning }) })
    const { events, result } = await runIn(true, runner, { model }, 'x')
    expect(textOf(events, 'reasoning-delta')).toBe('Thinking, still thinking.')
    expect(result.text).toBe('Answer.')
  })

  for (const api of ['chat', 'responses'] as const) {
    it(`${api}: includeNative passes every chunk or event of the SDK's streams through, unchanged`, async () => {
      const { model } = fake.play(scenario().toolCall('search', { query: 'q' }).text('Done.'))
      const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL), includeNative: true })
      const { events } = await runIn(true, runner, { model, api, tools: [search] }, 'x')
      const natives = events.flatMap((event) => (event.type === 'native' ? [event.event] : []))
      const kinds = natives.map((native) => {
        const record = native as { object?: string; type?: string }
        return record.type ?? record.object
      })
      if (api === 'chat') {
        expect(new Set(kinds)).toEqual(new Set(['chat.completion.chunk']))
        // Role chunk, text or argument pieces, finish chunk and usage chunk of each of the two calls.
        expect(natives.length).toBeGreaterThan(8)
        expect(natives.filter((native) => (native as { usage?: unknown }).usage)).toHaveLength(2)
      } else {
        expect(kinds[0]).toBe('response.created')
        expect(kinds).toContain('response.function_call_arguments.delta')
        expect(kinds).toContain('response.output_text.delta')
        expect(kinds.filter((kind) => kind === 'response.completed')).toHaveLength(2)
      }
      // Per run, too: off by default.
      const quiet = fake.play(scenario().text('Quiet.'))
      const plain = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
      const { events: none } = await runIn(true, plain, { model: quiet.model, api }, 'x')
      expect(none.some((event) => event.type === 'native')).toBe(false)
    })
  }
})
