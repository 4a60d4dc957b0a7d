import { createOpenAI } from '@ai-sdk/openai'
import { OpenTelemetry } from '@ai-sdk/otel'
import { AISDKRunner } from '@runner/ai-sdk'
import { scenario, startProtocolFake } from '@runner/testkit'
import { tool } from 'ai'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { otelInMemory, parentOf } from './test-helpers/otel.js'

describe("the AI SDK's own telemetry", () => {
  it('nests under the run’s invoke_agent span, in the same trace', async () => {
    await using otel = otelInMemory()
    await using fake = await startProtocolFake()
    const { model } = fake.play(
      scenario().toolCall('search', { query: 'otters' }).text('Otters hold hands.'),
      {
        model: 'gpt-4o-mini',
      },
    )
    const provider = createOpenAI({ baseURL: fake.openaiBaseURL, apiKey: 'test' })
    const search = tool({
      description: 'Searches the web.',
      inputSchema: z.object({ query: z.string() }),
      execute: async ({ query }) => `results for ${query}`,
    })
    const aiTracer = otel.tracerProvider.getTracer('ai')
    await new AISDKRunner().run(
      {
        model: provider.chat(model),
        tools: { search },
        experimental_telemetry: { isEnabled: true, integrations: new OpenTelemetry({ tracer: aiTracer }) },
      },
      'Tell me about otters',
      { agentId: 'nested', agentType: 'researcher' },
    )
    const run = otel.span('invoke_agent researcher')
    const theirs = otel.spans().filter((span) => span.instrumentationScope.name === 'ai')
    expect(theirs.length).toBeGreaterThan(0)
    for (const span of theirs) expect(span.spanContext().traceId).toBe(run.spanContext().traceId)
    const ids = new Set(theirs.map((span) => span.spanContext().spanId))
    const roots = theirs.filter((span) => !ids.has(parentOf(span) ?? ''))
    // Each of the AI SDK's top spans is a child of the run's span.
    expect(roots.length).toBeGreaterThan(0)
    for (const root of roots) expect(parentOf(root)).toBe(run.spanContext().spanId)
  })
})
