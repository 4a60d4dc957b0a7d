import { readFileSync } from 'node:fs'
import { defineTool, InvalidOptionsError, withFallback } from '@runner/core'
import { reportStatusTool } from '@runner/core/adapter'
import { type ProtocolFake, type RecordedRequest, scenario, startProtocolFake } from '@runner/testkit'
import OpenAI from 'openai'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { OpenAIRunner, VERSION } from './index.js'
import { fakeClient, toolNamesOf } from './test-helpers/fake-client.js'
import { modes, rejectionOf, runIn } from './test-helpers/run-modes.js'

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(() => fake.close())

const search = defineTool({
  name: 'search',
  description: 'Searches the web.',
  inputSchema: z.object({ query: z.string() }),
  execute: ({ query }) => `results for ${query}`,
})

const body = (request: unknown) => (request as RecordedRequest).body

describe('requests', () => {
  it('chat: instructions and the reportStatus prompt as the system message, then the input; report_status first', async () => {
    const { model, player } = fake.play(scenario().text('Hi.'))
    const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
    await runner.run({ model, instructions: 'Be brief.', tools: [search] }, 'Hello')
    const sent = body(player.calls[0]?.request)
    expect(sent.messages).toEqual([
      { role: 'system', content: `Be brief.\n\n${runner.prompts.reportStatus}` },
      { role: 'user', content: 'Hello' },
    ])
    expect(sent.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'report_status',
          description: reportStatusTool.description,
          parameters: expect.objectContaining({ type: 'object', required: ['message', 'percentage'] }),
        },
      },
      {
        type: 'function',
        function: {
          name: 'search',
          description: 'Searches the web.',
          parameters: expect.objectContaining({ type: 'object', properties: { query: { type: 'string' } } }),
        },
      },
    ])
    expect(sent.stream).toBe(false)
    expect(sent.stream_options).toBeUndefined()
    expect((player.calls[0]!.request as RecordedRequest).headers.authorization).toBe('Bearer test-key')
  })

  it('responses: instructions with the reportStatus prompt, the input as items, function tools with strict off', async () => {
    const { model, player } = fake.play(scenario().text('Hi.'))
    const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
    await runner.run({ model, api: 'responses', instructions: 'Be brief.', tools: [search] }, 'Hello')
    const sent = body(player.calls[0]?.request)
    expect(sent.instructions).toBe(`Be brief.\n\n${runner.prompts.reportStatus}`)
    expect(sent.input).toEqual([{ role: 'user', content: 'Hello' }])
    expect(sent.tools).toEqual([
      expect.objectContaining({ type: 'function', name: 'report_status', strict: false }),
      {
        type: 'function',
        name: 'search',
        description: 'Searches the web.',
        parameters: expect.objectContaining({ type: 'object' }),
        strict: false,
      },
    ])
  })

  it('the reportStatus option: tool-only keeps the tool and drops the prompt; false drops both', async () => {
    for (const api of ['chat', 'responses'] as const) {
      const toolOnly = fake.play(scenario().text('a'))
      await new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL), reportStatus: 'tool-only' }).run(
        { model: toolOnly.model, api, instructions: 'Be brief.', tools: [search] },
        'x',
      )
      const first = toolOnly.player.calls[0]?.request
      expect(toolNamesOf(first)).toEqual(['report_status', 'search'])
      expect(JSON.stringify(body(first))).not.toContain('report_status tool')
      expect(api === 'chat' ? body(first).messages : body(first).instructions).toEqual(
        api === 'chat'
          ? [
              { role: 'system', content: 'Be brief.' },
              { role: 'user', content: 'x' },
            ]
          : 'Be brief.',
      )

      const off = fake.play(scenario().text('b'))
      await new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL), reportStatus: false }).run(
        { model: off.model, api },
        'x',
      )
      const second = body(off.player.calls[0]?.request)
      expect(second.tools).toBeUndefined()
      expect(second.instructions).toBeUndefined()
      if (api === 'chat') expect(second.messages).toEqual([{ role: 'user', content: 'x' }])
    }
  })

  it('uses the runner’s prompts and never offers report_status twice', async () => {
    const { model, player } = fake.play(scenario().text('ok'))
    const runner = new OpenAIRunner({
      client: fakeClient(fake.openaiBaseURL),
      prompts: { reportStatus: 'Report progress often.' },
    })
    await runner.run({ model, instructions: 'Be brief.', tools: [runner.tools.reportStatus, search] }, 'x')
    const sent = body(player.calls[0]?.request)
    expect(toolNamesOf(player.calls[0]?.request)).toEqual(['report_status', 'search'])
    expect((sent.messages as Array<{ content: string }>)[0]?.content).toBe(
      'Be brief.\n\nReport progress often.',
    )
  })

  it('streamed chat calls ask for usage (stream_options.include_usage); streamed Responses calls need not', async () => {
    const chat = fake.play(scenario().text('a'))
    const responses = fake.play(scenario().text('b'))
    const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
    await runIn(true, runner, { model: chat.model }, 'x')
    await runIn(true, runner, { model: responses.model, api: 'responses' }, 'x')
    expect(body(chat.player.calls[0]?.request)).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    })
    expect(body(responses.player.calls[0]?.request).stream).toBe(true)
    expect(body(responses.player.calls[0]?.request).stream_options).toBeUndefined()
  })

  it('chat: modelSettings reach the request under the API’s names, extraBody as it is', async () => {
    const { model, player } = fake.play(scenario().text('ok'))
    await new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) }).run(
      {
        model,
        tools: [search],
        modelSettings: {
          temperature: 0.2,
          topP: 0.9,
          maxOutputTokens: 500,
          stop: ['END'],
          seed: 7,
          frequencyPenalty: 0.1,
          presencePenalty: 0.3,
          parallelToolCalls: false,
          toolChoice: 'auto',
          reasoningEffort: 'low',
          verbosity: 'low',
          serviceTier: 'flex',
          store: false,
          metadata: { tenant: 'acme' },
          promptCacheKey: 'research',
          safetyIdentifier: 'user-42',
          extraBody: { top_k: 40 },
        },
      },
      'x',
    )
    expect(body(player.calls[0]?.request)).toMatchObject({
      temperature: 0.2,
      top_p: 0.9,
      max_completion_tokens: 500,
      stop: ['END'],
      seed: 7,
      frequency_penalty: 0.1,
      presence_penalty: 0.3,
      parallel_tool_calls: false,
      tool_choice: 'auto',
      reasoning_effort: 'low',
      verbosity: 'low',
      service_tier: 'flex',
      store: false,
      metadata: { tenant: 'acme' },
      prompt_cache_key: 'research',
      safety_identifier: 'user-42',
      top_k: 40,
    })
  })

  it('responses: modelSettings reach the request under the API’s names', async () => {
    const { model, player } = fake.play(scenario().text('ok'))
    await new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) }).run(
      {
        model,
        api: 'responses',
        tools: [search],
        modelSettings: {
          temperature: 0.2,
          topP: 0.9,
          maxOutputTokens: 500,
          parallelToolCalls: true,
          toolChoice: 'required',
          reasoningEffort: 'high',
          reasoningSummary: 'auto',
          verbosity: 'medium',
          store: false,
          metadata: { tenant: 'acme' },
          extraBody: { include: ['reasoning.encrypted_content'] },
        },
      },
      'x',
    )
    expect(body(player.calls[0]?.request)).toMatchObject({
      temperature: 0.2,
      top_p: 0.9,
      max_output_tokens: 500,
      parallel_tool_calls: true,
      tool_choice: 'required',
      reasoning: { effort: 'high', summary: 'auto' },
      text: { verbosity: 'medium' },
      store: false,
      metadata: { tenant: 'acme' },
      include: ['reasoning.encrypted_content'],
    })
  })

  for (const api of ['chat', 'responses'] as const) {
    it(`${api}: the wrap-up turn sends the wrapUp prompt as a user message and no tools nor tool settings`, async () => {
      const { model, player } = fake.play(
        scenario()
          .toolCall('search', { query: 'a' })
          .toolCall('search', { query: 'ignored' }, { text: 'Summary.' }),
      )
      const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
      const { result } = await runIn(
        false,
        runner,
        { model, api, tools: [search], modelSettings: { parallelToolCalls: true, toolChoice: 'auto' } },
        'x',
        { maxTurns: 1, maxTurnsRecovery: true },
      )
      expect(result).toMatchObject({ text: 'Summary.', maxTurnsReached: true, turns: 2 })
      const [first, wrapUp] = player.calls.map((call) => body(call.request))
      expect(first).toMatchObject({ parallel_tool_calls: true, tool_choice: 'auto' })
      expect(wrapUp?.tools).toBeUndefined()
      expect(wrapUp?.parallel_tool_calls).toBeUndefined()
      expect(wrapUp?.tool_choice).toBeUndefined()
      const conversation = (api === 'chat' ? wrapUp?.messages : wrapUp?.input) as unknown[]
      expect(conversation.at(-1)).toEqual({ role: 'user', content: runner.prompts.wrapUp })
      // The call the model made anyway in the wrap-up turn is not run nor kept in the conversation.
      const messages = result.output.messages as unknown[]
      expect(JSON.stringify(messages)).not.toContain('ignored')
    })
  }
})

describe('input and output', () => {
  for (const { api, streamed, label } of modes) {
    it(`${label}: the output carries the native result and the conversation, which continues a run`, async () => {
      const { model, player } = fake.play(
        scenario()
          .toolCall('search', { query: 'otters' })
          .text('Otters are mustelids.')
          .text('They eat urchins.'),
      )
      const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
      const agent = { model, api, instructions: 'Be brief.', tools: [search] }
      const first = (await runIn(streamed, runner, agent, 'What are otters?')).result
      expect(first.text).toBe('Otters are mustelids.')
      const output = first.output
      expect(output.api).toBe(api)
      if (output.api === 'chat') {
        expect(output.completion.choices[0]?.message.content).toBe('Otters are mustelids.')
        expect(output.completion.choices[0]?.finish_reason).toBe('stop')
        expect(output.messages.map((message) => message.role)).toEqual([
          'user',
          'assistant',
          'tool',
          'assistant',
        ])
      } else {
        expect(output.response.output_text).toBe('Otters are mustelids.')
        expect(output.response.status).toBe('completed')
        expect(output.messages.map((item) => ('type' in item ? item.type : 'message'))).toEqual([
          'message',
          'function_call',
          'function_call_output',
          'message',
        ])
      }

      const next = [...output.messages, { role: 'user' as const, content: 'What do they eat?' }]
      const second = (await runIn(streamed, runner, agent, next as typeof output.messages)).result
      expect(second.text).toBe('They eat urchins.')
      const sent = body(player.calls[2]?.request)
      const conversation = (api === 'chat' ? sent.messages : sent.input) as unknown[]
      expect(conversation).toHaveLength(api === 'chat' ? 6 : 5) // + the system message on chat
      expect(conversation.at(-1)).toEqual({ role: 'user', content: 'What do they eat?' })
    })
  }

  it('refuses an empty or malformed input with InvalidOptionsError, before any model call', async () => {
    const { model, player } = fake.play(scenario().text('never'))
    const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
    for (const input of [[], [null], 42]) {
      const error = await rejectionOf(runner.run({ model }, input as never))
      expect(InvalidOptionsError.isInstance(error), String(error)).toBe(true)
      expect((error as InvalidOptionsError).field).toMatch(/^input/)
    }
    expect(player.calls).toHaveLength(0)
  })
})

describe('agent validation', () => {
  const cases: Array<[string, unknown, string]> = [
    ['no model', { instructions: 'x' }, 'agent.model'],
    ['an unknown api', { model: 'm', api: 'assistants' }, 'agent.api'],
    [
      'a setting of the wrong type',
      { model: 'm', modelSettings: { temperature: 'hot' } },
      'agent.modelSettings.temperature',
    ],
    [
      'a Responses-only setting on chat',
      { model: 'm', modelSettings: { reasoningSummary: 'auto' } },
      'agent.modelSettings.reasoningSummary',
    ],
    [
      'a chat-only setting on Responses',
      { model: 'm', api: 'responses', modelSettings: { seed: 1 } },
      'agent.modelSettings.seed',
    ],
    [
      'a reserved extraBody field',
      { model: 'm', modelSettings: { extraBody: { stream: false } } },
      'agent.modelSettings.extraBody.stream',
    ],
    ['a tool that is not a defineTool tool', { model: 'm', tools: [{ name: 'x' }] }, 'agent.tools.0'],
    ['two tools of one name', { model: 'm', tools: [search, search] }, 'agent.tools.1'],
  ]
  for (const [what, agent, field] of cases) {
    it(`refuses ${what} before the run starts: InvalidOptionsError naming ${field}, no activity, no model call`, async () => {
      const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL), retry: { attempts: 3 } })
      const error = await rejectionOf(runner.run(agent as never, 'x', { agentId: 'invalid' }))
      expect(InvalidOptionsError.isInstance(error), String(error)).toBe(true)
      expect((error as InvalidOptionsError).field).toBe(field)
      expect(await runner.activity.store.get('invalid')).toBeUndefined()
      expect(fake.requests).toHaveLength(0)
    })
  }
})

describe('one definition for several runners', () => {
  it('ignores fields of other runners’ agents and settings, and takes the runner’s model over the agent’s', async () => {
    const { model, player } = fake.play(scenario().text('Shared.'))
    const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL), model })
    const shared = {
      model: 'claude-sonnet-5-5',
      maxTokens: 1024,
      system: 'A Claude-only field.',
      instructions: 'Be brief.',
      tools: [search],
      modelSettings: { thinking: { type: 'adaptive' }, temperature: 0.3 },
    }
    const result = await runner.run(shared as never, 'x')
    expect(result.text).toBe('Shared.')
    const sent = body(player.calls[0]?.request)
    expect(sent.model).toBe(model)
    expect(sent.temperature).toBe(0.3)
    expect(sent.thinking).toBeUndefined()
    expect(sent.max_tokens).toBeUndefined()
    expect(JSON.stringify(sent)).not.toContain('Claude-only')
  })

  it('falls back from one OpenAIRunner to another on one shared agent, on the same activity', async () => {
    // The primary's request is first repeated in place (3 attempts by default), then the backup takes over.
    const failing = fake.play(
      scenario()
        .error(500, 'The primary is down')
        .error(500, 'The primary is down')
        .error(500, 'The primary is down'),
    )
    const backup = fake.play(scenario().toolCall('search', { query: 'otters' }).text('From the backup.'))
    const client = fakeClient(fake.openaiBaseURL)
    const resilient = withFallback(
      new OpenAIRunner({ client, model: failing.model, name: 'primary' }),
      new OpenAIRunner({ client, model: backup.model, name: 'backup' }),
    )
    const agent = { model: 'unused', instructions: 'Be brief.', tools: [search] }
    const result = await resilient.run(agent, 'x', {
      agentId: 'fallback',
      retry: { initialDelayMs: 1, maxDelayMs: 2 },
    })
    expect(result.text).toBe('From the backup.')
    const log = (await resilient.activity.detail('fallback')).log
    expect(log.filter((entry) => entry.kind === 'retry').map((entry) => entry.attempt)).toEqual([2, 3])
    expect(log.filter((entry) => entry.kind === 'fallback')).toMatchObject([
      { message: 'Falling back to backup: 500 The primary is down' },
    ])
    failing.player.assertDone()
    backup.player.assertDone()
  })

  it('runs an agent without a model on a runner that has one, and refuses one with neither', async () => {
    const { model } = fake.play(scenario().text('ok'))
    expect(
      (await new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL), model }).run({} as never, 'x')).text,
    ).toBe('ok')
    const error = await rejectionOf(
      new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) }).run({} as never, 'x'),
    )
    expect((error as InvalidOptionsError).field).toBe('agent.model')
  })
})

describe('runner settings', () => {
  it('builds its client from apiKey and baseURL', async () => {
    const { model, player } = fake.play(scenario().text('Built.'))
    const runner = new OpenAIRunner({ apiKey: 'sk-built', baseURL: fake.openaiBaseURL })
    expect(runner.client).toBeInstanceOf(OpenAI)
    expect((await runner.run({ model }, 'x')).text).toBe('Built.')
    expect((player.calls[0]!.request as RecordedRequest).headers.authorization).toBe('Bearer sk-built')
  })

  it('builds its client with maxRetries, which a run’s requests ignore: one HTTP call per attempt', async () => {
    const { model, player } = fake.play(scenario().error(503).text('never asked for'))
    const runner = new OpenAIRunner({ apiKey: 'sk-built', baseURL: fake.openaiBaseURL, maxRetries: 4 })
    expect(runner.client.maxRetries).toBe(4)
    const error = await rejectionOf(runner.run({ model }, 'x', { retry: { attempts: 1 } }))
    expect((error as { status?: number }).status).toBe(503)
    expect(player.remaining).toBe(1)
  })

  it('refuses a client together with client options, an unknown option and a bad reportStatus', () => {
    const client = fakeClient(fake.openaiBaseURL)
    const attempts: Array<[() => unknown, string]> = [
      [() => new OpenAIRunner({ client, apiKey: 'x' }), 'apiKey'],
      [() => new OpenAIRunner({ client, baseUrl: 'http://x' } as never), 'baseUrl'],
      [() => new OpenAIRunner({ client, reportStatus: 'yes' as never }), 'reportStatus'],
      [() => new OpenAIRunner({ client: {} as never }), 'client'],
      [() => new OpenAIRunner({ client, maxTurns: 0 }), 'maxTurns'],
      [() => new OpenAIRunner({ client, model: '' }), 'model'],
    ]
    for (const [create, field] of attempts) {
      let error: unknown
      try {
        create()
      } catch (caught) {
        error = caught
      }
      expect(InvalidOptionsError.isInstance(error), `${field}: ${String(error)}`).toBe(true)
      expect((error as InvalidOptionsError).field).toBe(field)
    }
  })

  it('without a key anywhere, names apiKey and says what to do', () => {
    const saved = process.env.OPENAI_API_KEY
    delete process.env.OPENAI_API_KEY
    try {
      let error: unknown
      try {
        new OpenAIRunner()
      } catch (caught) {
        error = caught
      }
      expect(InvalidOptionsError.isInstance(error)).toBe(true)
      expect((error as InvalidOptionsError).field).toBe('apiKey')
      expect(String((error as Error).message)).toContain('OPENAI_API_KEY')
    } finally {
      if (saved !== undefined) process.env.OPENAI_API_KEY = saved
    }
  })

  it('names the activity after agent.name unless the run gives an agentType', async () => {
    const { model } = fake.play(scenario().text('a').text('b'))
    const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
    const named = await runner.run({ model, name: 'researcher' }, 'x')
    const typed = await runner.run({ model, name: 'researcher' }, 'x', { agentType: 'override' })
    expect((await runner.activity.detail(named.agentId)).agentType).toBe('researcher')
    expect((await runner.activity.detail(typed.agentId)).agentType).toBe('override')
    expect(new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) }).name).toBe('OpenAIRunner')
  })

  it('exposes report_status as a defineTool tool and VERSION from package.json', () => {
    const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
    expect(runner.tools.reportStatus).toBe(reportStatusTool)
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    expect(VERSION).toBe(manifest.version)
  })
})
