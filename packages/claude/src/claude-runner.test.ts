import type { MessageParam } from '@anthropic-ai/sdk/resources/messages'
import { defineTool, InvalidOptionsError } from '@runner/core'
import { REPORT_STATUS_TOOL_NAME } from '@runner/core/adapter'
import { completed } from '@runner/core/test'
import { scenario } from '@runner/testkit'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ClaudeRunner } from './claude-runner.js'
import { claudeOnFake, rejectionOf } from './test-helpers/harness.js'

const search = defineTool({
  name: 'search',
  description: 'Searches the web.',
  inputSchema: z.object({ query: z.string().describe('What to look for') }),
  execute: async ({ query }) => `results for ${query}`,
})

type Body = {
  model: string
  max_tokens: number
  system?: unknown
  tools?: Array<{ name: string; description: string; input_schema: Record<string, unknown> }>
  tool_choice?: unknown
  messages: MessageParam[]
  stream?: boolean
  [field: string]: unknown
}

describe('ClaudeRunner requests', () => {
  it('sends the agent as a Messages request: model, max_tokens, system + reportStatus prompt, tools as input_schema', async () => {
    await using claude = await claudeOnFake()
    const { model } = claude.fake.play(scenario().text('Hello.'))
    const result = await claude.runner.run(
      { model, maxTokens: 2048, system: 'You are terse.', tools: [search] },
      'Hi there',
    )
    expect(result.text).toBe('Hello.')
    const [request] = claude.fake.requestsFor(model)
    const body = request!.body as Body
    expect(request!.headers.authorization).toBe('Bearer sk-ant-test')
    expect(request!.headers['anthropic-version']).toBe('2026-10-21')
    expect(body.model).toBe(model)
    expect(body.max_tokens).toBe(2048)
    expect(body.stream).toBeFalsy()
    expect(body.system).toBe(`You are terse.\n\n${claude.runner.prompts.reportStatus}`)
    expect(body.messages).toEqual([{ role: 'user', content: 'Hi there' }])
    expect(body.tools?.map((tool) => tool.name)).toEqual([REPORT_STATUS_TOOL_NAME, 'search'])
    expect(body.tools?.[1]).toEqual({
      name: 'search',
      description: 'Searches the web.',
      input_schema: {
        type: 'object',
        properties: { query: { type: 'string', description: 'What to look for' } },
        required: ['query'],
      },
    })
    expect(body.tools?.[0]?.input_schema).toMatchObject({
      type: 'object',
      required: ['message', 'percentage'],
    })
    expect(body).not.toHaveProperty('tool_choice')
  })

  it("reportStatus: 'tool-only' offers the tool without the prompt; false offers neither", async () => {
    await using toolOnly = await claudeOnFake({ reportStatus: 'tool-only' })
    const first = toolOnly.fake.play(scenario().text('ok'))
    await toolOnly.runner.run({ model: first.model, maxTokens: 100, system: 'Only this.' }, 'q')
    const body = toolOnly.fake.requestsFor(first.model)[0]!.body as Body
    expect(body.system).toBe('Only this.')
    expect(body.tools?.map((tool) => tool.name)).toEqual([REPORT_STATUS_TOOL_NAME])

    await using neither = await claudeOnFake({ reportStatus: false })
    const withTool = neither.fake.play(scenario().text('ok'))
    await neither.runner.run(
      {
        model: withTool.model,
        maxTokens: 100,
        system: 'Only this.',
        tools: [search],
        modelSettings: { toolChoice: 'auto' },
      },
      'q',
    )
    const sent = neither.fake.requestsFor(withTool.model)[0]!.body as Body
    expect(sent.system).toBe('Only this.')
    expect(sent.tools?.map((tool) => tool.name)).toEqual(['search'])
    expect(sent.tool_choice).toEqual({ type: 'auto' })
    // No tool at all: neither tools nor tool_choice are sent.
    const bare = neither.fake.play(scenario().text('ok'))
    await neither.runner.run(
      { model: bare.model, maxTokens: 100, modelSettings: { toolChoice: 'auto' } },
      'q',
    )
    const bareBody = neither.fake.requestsFor(bare.model)[0]!.body
    expect(bareBody).not.toHaveProperty('tools')
    expect(bareBody).not.toHaveProperty('tool_choice')
    expect(bareBody).not.toHaveProperty('system')
  })

  it('system as text blocks keeps them and adds the prompt as a last block; instructions is the fallback', async () => {
    await using claude = await claudeOnFake()
    const blocks = claude.fake.play(scenario().text('a'))
    await claude.runner.run(
      {
        model: blocks.model,
        maxTokens: 100,
        system: [{ type: 'text', text: 'Long stable context.', cache_control: { type: 'ephemeral' } }],
      },
      'q',
    )
    expect((claude.fake.requestsFor(blocks.model)[0]!.body as Body).system).toEqual([
      { type: 'text', text: 'Long stable context.', cache_control: { type: 'ephemeral' } },
      { type: 'text', text: claude.runner.prompts.reportStatus },
    ])
    const shared = claude.fake.play(scenario().text('b'))
    await claude.runner.run({ model: shared.model, maxTokens: 100, instructions: 'From instructions.' }, 'q')
    expect((claude.fake.requestsFor(shared.model)[0]!.body as Body).system).toBe(
      `From instructions.\n\n${claude.runner.prompts.reportStatus}`,
    )
    const none = claude.fake.play(scenario().text('c'))
    await claude.runner.run({ model: none.model, maxTokens: 100 }, 'q')
    expect((claude.fake.requestsFor(none.model)[0]!.body as Body).system).toBe(
      claude.runner.prompts.reportStatus,
    )
  })

  it('an agent tool named report_status replaces the injected one', async () => {
    await using claude = await claudeOnFake()
    const own = defineTool({
      name: REPORT_STATUS_TOOL_NAME,
      description: 'My own progress tool.',
      inputSchema: z.object({ note: z.string() }),
      execute: () => 'noted',
    })
    const { model } = claude.fake.play(scenario().text('ok'))
    await claude.runner.run({ model, maxTokens: 100, tools: [search, own] }, 'q')
    const body = claude.fake.requestsFor(model)[0]!.body as Body
    expect(body.tools?.map((tool) => tool.description)).toEqual([
      'Searches the web.',
      'My own progress tool.',
    ])
  })

  it('feeds tool results back in one user message, with is_error for a failing tool', async () => {
    await using claude = await claudeOnFake()
    const broken = defineTool({
      name: 'broken',
      description: 'Always fails.',
      inputSchema: z.object({}),
      execute: () => {
        throw new Error('disk on fire')
      },
    })
    const { model } = claude.fake.play(
      scenario()
        .toolCalls(
          [
            { name: 'search', input: { query: 'otters' } },
            { name: 'broken', input: {} },
            { name: 'search', input: { query: 42 } },
          ],
          'Checking three things.',
        )
        .text('Done.'),
    )
    const result = await claude.runner.run({ model, maxTokens: 100, tools: [search, broken] }, 'q')
    expect(result.text).toBe('Done.')
    const second = claude.fake.requestsFor(model)[1]!.body as Body
    expect(second.messages).toHaveLength(3)
    expect(second.messages[1]).toMatchObject({
      role: 'assistant',
      content: [
        { type: 'text', text: 'Checking three things.' },
        { type: 'tool_use', id: 'call_0_0', name: 'search', input: { query: 'otters' } },
        { type: 'tool_use', id: 'call_0_1', name: 'broken', input: {} },
        { type: 'tool_use', id: 'call_0_2', name: 'search', input: { query: 42 } },
      ],
    })
    const results = second.messages[2]!
    expect(results.role).toBe('user')
    expect(results.content).toEqual([
      { type: 'tool_result', tool_use_id: 'call_0_0', content: 'results for otters' },
      {
        type: 'tool_result',
        tool_use_id: 'call_0_1',
        content: 'Tool "broken" failed: disk on fire',
        is_error: true,
      },
      {
        type: 'tool_result',
        tool_use_id: 'call_0_2',
        content: expect.stringContaining('Invalid input for tool "search"'),
        is_error: true,
      },
    ])
  })

  it('runs the tool calls of one turn in parallel', async () => {
    await using claude = await claudeOnFake()
    let running = 0
    let mostAtOnce = 0
    const slow = defineTool({
      name: 'slow',
      description: 'Takes a while.',
      inputSchema: z.object({ n: z.number() }),
      execute: async ({ n }) => {
        running++
        mostAtOnce = Math.max(mostAtOnce, running)
        await new Promise((resolve) => setTimeout(resolve, 50))
        running--
        return n
      },
    })
    const { model } = claude.fake.play(
      scenario()
        .toolCalls([1, 2, 3].map((n) => ({ name: 'slow', input: { n } })))
        .text('ok'),
    )
    await claude.runner.run({ model, maxTokens: 100, tools: [slow] }, 'q')
    expect(mostAtOnce).toBe(3)
  })

  it('takes message params as input, without changing them, and returns the whole conversation', async () => {
    await using claude = await claudeOnFake()
    const { model } = claude.fake.play(
      scenario().toolCall('search', { query: 'otters' }).text('They hold hands.'),
    )
    const input: MessageParam[] = [
      { role: 'user', content: 'Remember: be brief.' },
      { role: 'assistant', content: 'Understood.' },
      { role: 'user', content: [{ type: 'text', text: 'Why do otters hold hands?' }] },
    ]
    const copy = structuredClone(input)
    const result = await completed(claude.runner.run({ model, maxTokens: 100, tools: [search] }, input))
    expect(input).toEqual(copy)
    expect((claude.fake.requestsFor(model)[0]!.body as Body).messages).toEqual(input)
    expect(result.output.stopReason).toBe('end_turn')
    expect(result.output.message).toMatchObject({ role: 'assistant', stop_reason: 'end_turn' })
    expect(result.output.messages.map((message) => message.role)).toEqual([
      'user',
      'assistant',
      'user',
      'assistant',
      'user',
      'assistant',
    ])
    expect(result.output.messages.at(-1)).toMatchObject({
      role: 'assistant',
      content: [{ type: 'text', text: 'They hold hands.' }],
    })
    // The conversation continues with a new user message.
    const next = claude.fake.play(scenario().text('Yes.'))
    await claude.runner.run({ model: next.model, maxTokens: 100 }, [
      ...result.output.messages,
      { role: 'user', content: 'Really?' },
    ])
    expect((claude.fake.requestsFor(next.model)[0]!.body as Body).messages).toHaveLength(7)
  })

  it('maps model settings to request fields', async () => {
    await using claude = await claudeOnFake()
    const { model } = claude.fake.play(scenario().text('ok'))
    await claude.runner.run(
      {
        model,
        maxTokens: 4096,
        tools: [search],
        modelSettings: {
          thinking: { budgetTokens: 2048 },
          effort: 'medium',
          toolChoice: 'required',
          parallelToolCalls: false,
          stopSequences: ['END'],
          userId: 'user-7',
          cacheControl: { type: 'ephemeral', ttl: '1h' },
          extraBody: { service_tier: 'standard_only' },
        },
      },
      'q',
    )
    expect(claude.fake.requestsFor(model)[0]!.body).toMatchObject({
      thinking: { type: 'enabled', budget_tokens: 2048 },
      output_config: { effort: 'medium' },
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      stop_sequences: ['END'],
      metadata: { user_id: 'user-7' },
      cache_control: { type: 'ephemeral', ttl: '1h' },
      service_tier: 'standard_only',
    })
  })

  it('ignores model settings of other runners (temperature) and maps the other tool choices', async () => {
    await using claude = await claudeOnFake()
    const cases = [
      [{ toolChoice: { name: 'search' } }, { type: 'tool', name: 'search' }],
      [{ toolChoice: 'none' }, { type: 'none' }],
      [{ parallelToolCalls: false }, { type: 'auto', disable_parallel_tool_use: true }],
      [{ thinking: { type: 'adaptive', display: 'omitted' } }, undefined],
    ] as const
    for (const [modelSettings, toolChoice] of cases) {
      const { model } = claude.fake.play(scenario().text('ok'))
      await claude.runner.run(
        {
          model,
          maxTokens: 100,
          tools: [search],
          modelSettings: { ...modelSettings, temperature: 0.2 } as never,
        },
        'q',
      )
      const body = claude.fake.requestsFor(model)[0]!.body
      expect(body.tool_choice).toEqual(toolChoice)
      expect(body).not.toHaveProperty('temperature')
    }
    const adaptive = claude.fake.requests.at(-1)!.body
    expect(adaptive.thinking).toEqual({ type: 'adaptive', display: 'omitted' })
  })

  it('a shared definition: the runner’s model replaces the agent’s; its modelSettings are defaults', async () => {
    await using claude = await claudeOnFake({
      model: 'claude-for-this-runner',
      modelSettings: { effort: 'low', stopSequences: ['Y'], thinking: { budgetTokens: 1024 } },
    })
    claude.fake.play(scenario().text('ok'), { model: 'claude-for-this-runner' })
    // A definition OpenAIRunner runs too: its model, OpenAI's modelSettings (toolChoice means the
    // same on both runners; temperature is OpenAI's only), and maxTokens, which OpenAIRunner ignores.
    const shared = {
      model: 'gpt-5.4-mini',
      instructions: 'Be brief.',
      tools: [search],
      maxTokens: 3000,
      api: 'chat',
      modelSettings: { temperature: 0.3, toolChoice: 'required', stopSequences: ['X'] },
    }
    await claude.runner.run(shared as never, 'q')
    const body = claude.fake.requests[0]!.body as Body
    expect(body).toMatchObject({
      model: 'claude-for-this-runner',
      max_tokens: 3000,
      system: `Be brief.\n\n${claude.runner.prompts.reportStatus}`,
      output_config: { effort: 'low' },
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tool_choice: { type: 'any' },
      stop_sequences: ['X'],
    })
    expect(body).not.toHaveProperty('temperature')
    expect(body).not.toHaveProperty('api')
  })

  it('a wrap-up turn offers no tools nor tool choice, sends tool blocks as text and the wrap-up prompt last', async () => {
    await using claude = await claudeOnFake()
    const { model } = claude.fake.play(
      scenario()
        .toolCall('search', { query: 'otters' })
        .toolCall('search', { query: 'seals' })
        .text('Summary: otters hold hands.'),
    )
    const result = await completed(
      claude.runner.run(
        { model, maxTokens: 100, tools: [search], modelSettings: { toolChoice: 'auto' } },
        'q',
        { maxTurns: 2, maxTurnsRecovery: true },
      ),
    )
    expect(result).toMatchObject({ text: 'Summary: otters hold hands.', maxTurnsReached: true, turns: 3 })
    const wrapUp = claude.fake.requestsFor(model)[2]!.body as Body
    expect(wrapUp).not.toHaveProperty('tools')
    expect(wrapUp).not.toHaveProperty('tool_choice')
    expect(wrapUp.system).toBeUndefined()
    expect(JSON.stringify(wrapUp.messages)).not.toMatch(/"tool_use"|"tool_result"/)
    expect(wrapUp.messages.slice(1, 3)).toEqual([
      {
        role: 'assistant',
        content: [{ type: 'text', text: '[Called tool search with {"query":"otters"}]' }],
      },
      { role: 'user', content: [{ type: 'text', text: '[Result of search: results for otters]' }] },
    ])
    expect(wrapUp.messages.at(-1)).toEqual({ role: 'user', content: claude.runner.prompts.wrapUp })
    // The returned conversation keeps the real tool blocks, and the wrap-up prompt as sent.
    expect(JSON.stringify(result.output.messages)).toContain('"tool_use"')
    expect(result.output.messages.at(-2)).toEqual({ role: 'user', content: claude.runner.prompts.wrapUp })
  })

  it('a tool call made anyway on a wrap-up turn is not run, and is left out of the returned conversation', async () => {
    await using claude = await claudeOnFake()
    let runs = 0
    const counted = defineTool({
      name: 'search',
      description: 'Searches the web.',
      inputSchema: z.object({ query: z.string() }),
      execute: async ({ query }) => {
        runs++
        return `results for ${query}`
      },
    })
    const { model } = claude.fake.play(
      scenario()
        .toolCall('search', { query: 'otters' })
        .toolCall('search', { query: 'one more' }, { text: 'Otters hold hands.' }),
    )
    const result = await completed(
      claude.runner.run({ model, maxTokens: 100, tools: [counted] }, 'q', {
        maxTurns: 1,
        maxTurnsRecovery: true,
      }),
    )
    expect(result).toMatchObject({ text: 'Otters hold hands.', maxTurnsReached: true, turns: 2 })
    expect(runs).toBe(1)
    // Every tool_use of the returned conversation has its tool_result: it can be continued.
    expect(result.output.messages.at(-1)).toEqual({
      role: 'assistant',
      content: [{ type: 'text', text: 'Otters hold hands.', citations: null }],
    })
  })

  it('names the activity after agent.name', async () => {
    await using claude = await claudeOnFake()
    const { model } = claude.fake.play(scenario().text('ok'))
    const result = await claude.runner.run({ model, maxTokens: 100, name: 'researcher' }, 'q')
    expect((await claude.runner.activity.detail(result.agentId)).agentType).toBe('researcher')
  })
})

describe('ClaudeRunner checks its inputs before any call', () => {
  it('an invalid agent is refused before the run starts, naming every field: no activity, no call', async () => {
    await using claude = await claudeOnFake()
    const error = await rejectionOf(
      claude.runner.run(
        {
          model: '',
          maxTokens: 0,
          tools: [{ name: 'x' }] as never,
          modelSettings: { thinking: { budgetTokens: -1 }, toolChoice: 'sometimes' } as never,
        },
        'q',
        { agentId: 'bad-agent' },
      ),
    )
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect((error as InvalidOptionsError).issues.map((issue) => issue.field)).toEqual([
      'agent.model',
      'agent.maxTokens',
      'agent.tools',
      'agent.modelSettings.thinking.budgetTokens',
      'agent.modelSettings.toolChoice',
    ])
    expect((error as Error).message).toContain(
      'agent.maxTokens: must be a positive integer: the most tokens one model call may generate (the API requires it)',
    )
    expect(claude.fake.requests).toHaveLength(0)
    expect(await claude.runner.activity.store.get('bad-agent')).toBeUndefined()
    // Not retried either.
    const again = await rejectionOf(
      claude.runner.run({ model: 'm' } as never, 'q', { retry: { attempts: 3, initialDelayMs: 1 } }),
    )
    expect((again as InvalidOptionsError).field).toBe('agent.maxTokens')
  })

  it('a tool whose schema is not an object, duplicate tool names and an empty prompt are refused', async () => {
    await using claude = await claudeOnFake()
    const text = defineTool({
      name: 'echo',
      description: 'Echo.',
      inputSchema: z.string(),
      execute: (value) => value,
    })
    const cases: Array<[Parameters<ClaudeRunner['run']>, string]> = [
      [[{ model: 'm', maxTokens: 10, tools: [text] }, 'q'], 'agent.tools.echo.inputSchema'],
      [[{ model: 'm', maxTokens: 10, tools: [search, search] }, 'q'], 'agent.tools.1'],
      [[{ model: 'm', maxTokens: 10 }, '  '], 'input'],
      [[{ model: 'm', maxTokens: 10 }, []], 'input'],
      [[{ model: 'm', maxTokens: 10 }, [{ role: 'robot', content: 'x' } as never]], 'input.0'],
    ]
    for (const [args, field] of cases) {
      const error = await rejectionOf(claude.runner.run(...args))
      expect(InvalidOptionsError.isInstance(error), String(error)).toBe(true)
      expect((error as InvalidOptionsError).field).toBe(field)
    }
    expect(claude.fake.requests).toHaveLength(0)
  })

  it('refuses bad constructor settings, naming the field', () => {
    const fieldOf = (make: () => unknown) => {
      try {
        make()
      } catch (error) {
        expect(InvalidOptionsError.isInstance(error), String(error)).toBe(true)
        return (error as InvalidOptionsError).issues.map((issue) => issue.field)
      }
      throw new Error('expected InvalidOptionsError')
    }
    const client = new ClaudeRunner({ apiKey: 'k' }).client
    expect(fieldOf(() => new ClaudeRunner({ client, apiKey: 'k' } as never))).toEqual(['apiKey'])
    expect(fieldOf(() => new ClaudeRunner({ client: {} as never }))).toEqual(['client'])
    expect(fieldOf(() => new ClaudeRunner({ apiKey: 'k', model: '' }))).toEqual(['model'])
    expect(fieldOf(() => new ClaudeRunner({ apiKey: 'k', maxTokens: 100 } as never))).toEqual(['maxTokens'])
    expect(fieldOf(() => new ClaudeRunner({ apiKey: 'k', reportStatus: 'yes' as never }))).toEqual([
      'reportStatus',
    ])
    expect(
      fieldOf(() => new ClaudeRunner({ apiKey: 'k', modelSettings: { effort: 'huge' as never } })),
    ).toEqual(['modelSettings.effort'])
    expect(
      fieldOf(() => new ClaudeRunner({ apiKey: 'k', modelSettings: { extraBody: { model: 'x' } } })),
    ).toEqual(['modelSettings.extraBody.model'])
    // Core's runner options are validated by core.
    expect(fieldOf(() => new ClaudeRunner({ apiKey: 'k', maxTurns: 0 }))).toEqual(['maxTurns'])
  })

  it('builds its own client from apiKey and baseURL', async () => {
    await using claude = await claudeOnFake()
    const runner = new ClaudeRunner({
      apiKey: 'sk-ant-own',
      baseURL: claude.fake.anthropicBaseURL,
      maxRetries: 0,
    })
    const { model } = claude.fake.play(scenario().text('Built.'))
    const result = await runner.run({ model, maxTokens: 100 }, 'q')
    expect(result.text).toBe('Built.')
    expect(claude.fake.requestsFor(model)[0]!.headers.authorization).toBe('Bearer sk-ant-own')
  })
})
