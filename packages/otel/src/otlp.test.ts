import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { OpenAIRunner } from '@runner/openai'
import { scenario, startProtocolFake } from '@runner/testkit'
import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { instrumentRunner } from './index.js'
import { useAsyncContext } from './test-helpers/otel.js'
import { searchTool } from './test-helpers/tools.js'

interface OtlpSpan {
  name: string
  traceId: string
  parentSpanId?: string
  attributes: Array<{ key: string; value: Record<string, unknown> }>
}

/** A loopback OTLP/HTTP receiver: decodes the JSON export requests it is sent. */
async function otlpReceiver() {
  const spans: OtlpSpan[] = []
  const paths: string[] = []
  const read = async (request: IncomingMessage) => {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks).toString('utf8')
  }
  const server = createServer(async (request, response) => {
    paths.push(`${request.method} ${request.url} ${request.headers['content-type']}`)
    const body = JSON.parse(await read(request)) as {
      resourceSpans: Array<{ scopeSpans: Array<{ scope: { name: string }; spans: OtlpSpan[] }> }>
    }
    for (const resource of body.resourceSpans)
      for (const scope of resource.scopeSpans)
        if (scope.scope.name === '@runner/otel') spans.push(...scope.spans)
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end('{}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    paths,
    async [Symbol.asyncDispose]() {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

describe('export to a collector over OTLP/HTTP', () => {
  it('the spans of a run reach an OTLP receiver with their GenAI names and attributes', async () => {
    useAsyncContext()
    await using receiver = await otlpReceiver()
    await using fake = await startProtocolFake()
    const tracerProvider = new BasicTracerProvider({
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: receiver.url }))],
    })
    const instrumentation = instrumentRunner({ tracerProvider })
    try {
      const { model } = fake.play(
        scenario().toolCall('search', { query: 'otters' }).text('Otters hold hands.'),
        {
          model: 'gpt-4o-mini',
        },
      )
      const client = new OpenAI({
        apiKey: 'test-key',
        baseURL: fake.openaiBaseURL,
        maxRetries: 0,
        logLevel: 'off',
      })
      await new OpenAIRunner({ client }).run({ model, tools: [searchTool()] }, 'Tell me about otters', {
        agentId: 'exported',
        agentType: 'researcher',
      })
      await tracerProvider.forceFlush()
    } finally {
      instrumentation.shutdown()
      await tracerProvider.shutdown()
    }
    expect(receiver.paths[0]).toBe('POST /v1/traces application/json')
    expect(receiver.spans.map((span) => span.name).sort()).toEqual([
      'chat gpt-4o-mini',
      'chat gpt-4o-mini',
      'execute_tool search',
      'invoke_agent researcher',
    ])
    const run = receiver.spans.find((span) => span.name === 'invoke_agent researcher') as OtlpSpan
    expect(run.attributes).toContainEqual({
      key: 'gen_ai.conversation.id',
      value: { stringValue: 'exported' },
    })
    expect(new Set(receiver.spans.map((span) => span.traceId)).size).toBe(1)
  })
})
