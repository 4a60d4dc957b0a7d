import { createOpenAI } from '@ai-sdk/openai'
import Anthropic from '@anthropic-ai/sdk'
import { tool as langChainTool } from '@langchain/core/tools'
import { ChatOpenAI } from '@langchain/openai'
import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { AISDKRunner } from '@runner/ai-sdk'
import { ClaudeRunner } from '@runner/claude'
import type { RunResult } from '@runner/core'
import { LangChainRunner } from '@runner/langchain'
import { OpenAIRunner } from '@runner/openai'
import { type ProtocolFake, rejectionOf, scenario, startProtocolFake } from '@runner/testkit'
import { tool as aiTool } from 'ai'
import { createAgent } from 'langchain'
import OpenAI from 'openai'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { otelInMemory, parentOf } from './test-helpers/otel.js'
import { searchTool } from './test-helpers/tools.js'

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(() => fake.close())

const research = () =>
  scenario()
    .toolCall('search', { query: 'sea otters' })
    .usage({ inputTokens: 50, outputTokens: 10, cachedInputTokens: 20 })
    .text('Sea otters hold hands.')
    .usage({ inputTokens: 90, outputTokens: 30 })

const openaiClient = () =>
  new OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, maxRetries: 0, logLevel: 'off' })

/** Runs one research run of each adapter, on the protocol fake, with model `model`. */
const adapters: Array<{
  name: string
  /** What the run's span is named after (the agentType). */
  agentType: string
  run(model: string, agentId: string): Promise<RunResult>
}> = [
  {
    name: 'OpenAIRunner',
    agentType: 'researcher',
    run: (model, agentId) =>
      new OpenAIRunner({ client: openaiClient() }).run(
        { model, tools: [searchTool()] },
        'Tell me about sea otters',
        { agentId, agentType: 'researcher' },
      ),
  },
  {
    name: 'ClaudeRunner',
    agentType: 'researcher',
    run: (model, agentId) =>
      new ClaudeRunner({
        client: new Anthropic({
          apiKey: 'sk-ant-test',
          baseURL: fake.anthropicBaseURL,
          maxRetries: 0,
          logLevel: 'off',
        }),
      }).run({ model, maxTokens: 1024, tools: [searchTool()] }, 'Tell me about sea otters', {
        agentId,
        agentType: 'researcher',
      }),
  },
  {
    name: 'LangChainRunner',
    agentType: 'researcher',
    run: (model, agentId) => {
      const runner = new LangChainRunner()
      const search = langChainTool(async ({ query }: { query: string }) => `results for ${query}`, {
        name: 'search',
        description: 'Searches the web.',
        schema: z.object({ query: z.string() }),
      })
      const agent = createAgent({
        model: new ChatOpenAI({
          model,
          apiKey: 'test-key',
          maxRetries: 0,
          configuration: { baseURL: fake.openaiBaseURL },
        }),
        tools: runner.wrapTools([search]),
      })
      return runner.run(agent, 'Tell me about sea otters', { agentId, agentType: 'researcher' })
    },
  },
  {
    name: 'AISDKRunner',
    agentType: 'researcher',
    run: (model, agentId) => {
      const provider = createOpenAI({ baseURL: fake.openaiBaseURL, apiKey: 'test' })
      const search = aiTool({
        description: 'Searches the web.',
        inputSchema: z.object({ query: z.string() }),
        execute: async ({ query }) => `results for ${query}`,
      })
      return new AISDKRunner().run(
        { model: provider.chat(model), tools: { search } },
        'Tell me about sea otters',
        { agentId, agentType: 'researcher' },
      )
    },
  },
]

const attributesOf = (span: ReadableSpan) => ({ ...span.attributes })

describe.each(adapters)('$name: spans of a run', (adapter) => {
  it('invoke_agent for the run, a model-call span per call and execute_tool per tool call, under it', async () => {
    await using otel = otelInMemory()
    const { model, player } = fake.play(research(), { model: 'gpt-4o-mini' })
    const result = await adapter.run(model, 'otters')
    expect(result.status).toBe('complete')
    player.assertDone()

    const run = otel.span(`invoke_agent ${adapter.agentType}`)
    expect(run.kind).toBe(SpanKind.INTERNAL)
    expect(parentOf(run)).toBeUndefined()
    expect(attributesOf(run)).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'researcher',
      'gen_ai.agent.id': 'otters',
      'gen_ai.conversation.id': 'otters',
      'gen_ai.usage.input_tokens': 140,
      'gen_ai.usage.output_tokens': 40,
      'runner.run.status': 'complete',
    })
    expect(run.status.code).not.toBe(SpanStatusCode.ERROR)

    const calls = otel.spans().filter((span) => span.attributes['gen_ai.operation.name'] === 'chat')
    expect(calls).toHaveLength(2)
    for (const call of calls) {
      expect(call.kind).toBe(SpanKind.CLIENT)
      expect(parentOf(call)).toBe(run.spanContext().spanId)
      expect(call.spanContext().traceId).toBe(run.spanContext().traceId)
      expect(call.attributes['gen_ai.conversation.id']).toBe('otters')
    }
    const usages = calls.map((call) => [
      call.attributes['gen_ai.usage.input_tokens'],
      call.attributes['gen_ai.usage.output_tokens'],
    ])
    expect(usages).toEqual([
      [50, 10],
      [90, 30],
    ])
    // Every adapter tells core the model and provider of each call: they name the span.
    const provider = adapter.name === 'ClaudeRunner' ? 'anthropic' : 'openai'
    for (const call of calls) {
      expect(call.name).toBe('chat gpt-4o-mini')
      expect(call.attributes['gen_ai.request.model']).toBe('gpt-4o-mini')
      expect(call.attributes['gen_ai.provider.name']).toBe(provider)
      expect(call.attributes['gen_ai.response.finish_reasons']).toBeDefined()
      // gpt-4o-mini is OpenAI's in the model catalog: priced there, never as another provider's.
      if (provider === 'openai') expect(call.attributes['runner.usage.cost_usd']).toBeGreaterThan(0)
      else expect(call.attributes['runner.usage.cost_usd']).toBeUndefined()
    }
    if (provider === 'openai') expect(run.attributes['runner.usage.cost_usd']).toBeGreaterThan(0)

    const tool = otel.span('execute_tool search')
    expect(tool.kind).toBe(SpanKind.INTERNAL)
    expect(parentOf(tool)).toBe(run.spanContext().spanId)
    expect(attributesOf(tool)).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'search',
      'gen_ai.tool.type': 'function',
    })
    expect(typeof tool.attributes['gen_ai.tool.call.id']).toBe('string')

    // Content stays out unless asked for.
    for (const span of otel.spans()) {
      for (const key of [
        'gen_ai.input.messages',
        'gen_ai.output.messages',
        'gen_ai.tool.call.arguments',
        'gen_ai.tool.call.result',
      ])
        expect(span.attributes[key], `${span.name} ${key}`).toBeUndefined()
    }
  })

  it('captureContent: the input, the answer, the tool arguments and result', async () => {
    await using otel = otelInMemory({ captureContent: true })
    const { model } = fake.play(research(), { model: 'gpt-4o-mini' })
    await adapter.run(model, 'otters-content')
    const run = otel.span(`invoke_agent ${adapter.agentType}`)
    expect(run.attributes['gen_ai.input.messages']).toContain('Tell me about sea otters')
    expect(run.attributes['gen_ai.output.messages']).toContain('Sea otters hold hands.')
    const tool = otel.span('execute_tool search')
    expect(JSON.parse(tool.attributes['gen_ai.tool.call.arguments'] as string)).toEqual({
      query: 'sea otters',
    })
    expect(tool.attributes['gen_ai.tool.call.result']).toContain('results for sea otters')
    const calls = otel.spans().filter((span) => span.attributes['gen_ai.operation.name'] === 'chat')
    expect(calls[1]?.attributes['gen_ai.output.messages']).toContain('Sea otters hold hands.')
    expect(calls[0]?.attributes['gen_ai.input.messages']).toContain('sea otters')
  })
})

describe('retries and failures', () => {
  it('a retried model call shows as a retry event; a failed run as an ERROR span with error.type', async () => {
    await using otel = otelInMemory()
    const { model } = fake.play(scenario().error(500, 'The server had an error').text('Done.'), {
      model: 'gpt-4o-mini',
    })
    const runner = new OpenAIRunner({ client: openaiClient(), retry: { initialDelayMs: 1, maxDelayMs: 2 } })
    await runner.run({ model }, 'x', { agentId: 'retried', agentType: 'retrying' })
    const run = otel.span('invoke_agent retrying')
    const retry = run.events.find((event) => event.name === 'runner.retry')
    expect(retry?.attributes).toMatchObject({
      'runner.retry.next_attempt': 2,
      'runner.retry.max_attempts': 3,
    })
    expect(typeof retry?.attributes?.['error.type']).toBe('string')
    expect(run.status.code).not.toBe(SpanStatusCode.ERROR)

    const failing = fake.play(scenario().error(400, 'Bad request'), { model: 'gpt-4o' })
    const error = await rejectionOf(
      runner.run({ model: failing.model }, 'x', { agentId: 'failed', agentType: 'failing' }),
    )
    const failed = otel.span('invoke_agent failing')
    expect(failed.status.code).toBe(SpanStatusCode.ERROR)
    expect(failed.attributes['error.type']).toBe('BadRequestError')
    expect((error as Error).constructor.name).toBe('BadRequestError')
    expect(failed.attributes['runner.run.status']).toBe('error')
    const call = otel
      .spans()
      .find(
        (span) =>
          parentOf(span) === failed.spanContext().spanId &&
          span.attributes['gen_ai.operation.name'] === 'chat',
      )
    expect(call?.status.code).toBe(SpanStatusCode.ERROR)
    expect(call?.attributes['error.type']).toBe('BadRequestError')
  })

  it('wrap-up at the turn limit and a cancel are events of the run span', async () => {
    await using otel = otelInMemory()
    const runner = new OpenAIRunner({ client: openaiClient() })
    const wrapped = fake.play(scenario().toolCall('search', { query: 'otters' }).text('In short: otters.'), {
      model: 'gpt-4o-mini',
    })
    await runner.run({ model: wrapped.model, tools: [searchTool()] }, 'x', {
      agentType: 'wrapping',
      maxTurns: 1,
      maxTurnsRecovery: true,
    })
    const wrapping = otel.span('invoke_agent wrapping')
    expect(wrapping.events.find((event) => event.name === 'runner.lifecycle')?.attributes).toMatchObject({
      'runner.status.kind': 'lifecycle',
      'runner.status.message': expect.stringContaining('turn limit'),
    })

    const hanging = fake.play(scenario().hang(), { model: 'gpt-4o' })
    const controller = new AbortController()
    const canceled = runner.run({ model: hanging.model }, 'x', {
      agentType: 'canceled',
      signal: controller.signal,
    })
    setTimeout(() => controller.abort(), 50)
    await rejectionOf(canceled)
    const run = otel.span('invoke_agent canceled')
    expect(run.events.map((event) => event.name)).toContain('runner.cancel')
    expect(run.attributes['runner.run.status']).toBe('canceled')
    expect(run.status.code).toBe(SpanStatusCode.ERROR)
    expect(run.attributes['error.type']).toBe('RunCanceledError')
  })

  it('status reports are events of the run span, with their kind', async () => {
    await using otel = otelInMemory()
    const { model } = fake.play(
      scenario().toolCall('report_status', { message: 'Searching the web', percentage: 40 }).text('Done.'),
      { model: 'gpt-4o-mini' },
    )
    await new OpenAIRunner({ client: openaiClient() }).run({ model }, 'x', {
      agentId: 'reports',
      agentType: 'reporter',
    })
    const run = otel.span('invoke_agent reporter')
    expect(run.events.find((event) => event.name === 'runner.status')?.attributes).toMatchObject({
      'runner.status.message': 'Searching the web',
      'runner.status.percentage': 40,
      'runner.status.kind': 'progress',
    })
  })
})

describe('metrics', () => {
  it('token usage, operation, agent and tool durations, with the GenAI attributes', async () => {
    await using otel = otelInMemory()
    const { model } = fake.play(research(), { model: 'gpt-4o-mini' })
    await adapters[0]?.run(model, 'measured')
    const tokens = await otel.histogram('gen_ai.client.token.usage')
    const input = tokens.find((point) => point.attributes['gen_ai.token.type'] === 'input')
    const output = tokens.find((point) => point.attributes['gen_ai.token.type'] === 'output')
    expect(input).toMatchObject({ count: 2, sum: 140 })
    expect(output).toMatchObject({ count: 2, sum: 40 })
    expect(input?.attributes['gen_ai.operation.name']).toBe('chat')
    expect(input?.attributes['gen_ai.conversation.id']).toBeUndefined()
    const operations = await otel.histogram('gen_ai.client.operation.duration')
    expect(operations.reduce((sum, point) => sum + point.count, 0)).toBe(2)
    const agents = await otel.histogram('gen_ai.invoke_agent.duration')
    expect(agents).toHaveLength(1)
    expect(agents[0]).toMatchObject({
      count: 1,
      attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'researcher' },
    })
    const tools = await otel.histogram('gen_ai.execute_tool.duration')
    expect(tools).toEqual([
      expect.objectContaining({
        count: 1,
        attributes: {
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.name': 'search',
          'gen_ai.tool.type': 'function',
        },
      }),
    ])
  })
})
