/**
 * A worker process of a BullMQ-backed pool with `instrumentRunner` on an OpenTelemetry SDK whose
 * exporter sends each finished span to the parent process over IPC. Its task runs an OpenAIRunner
 * against the parent's protocol fake. Loaded with Node's type stripping: packages only.
 */
import { context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { type ExportResult, ExportResultCode } from '@opentelemetry/core'
import {
  BasicTracerProvider,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base'
import { bullmqEngine, startWorker } from '@runner/bullmq'
import { createActivityTracker, createPool } from '@runner/core'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { OpenAIRunner } from '@runner/openai'
import { instrumentRunner } from '@runner/otel'
import OpenAI from 'openai'
import { z } from 'zod'

function env(name: string): string {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set`)
  return value
}

/** Sends finished spans to the parent: name, ids, parent. */
class IpcSpanExporter implements SpanExporter {
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    process.send?.({
      type: 'spans',
      spans: spans.map((span) => ({
        name: span.name,
        traceId: span.spanContext().traceId,
        spanId: span.spanContext().spanId,
        parentSpanId: span.parentSpanContext?.spanId,
        attributes: span.attributes,
      })),
    })
    done({ code: ExportResultCode.SUCCESS })
  }
  async shutdown(): Promise<void> {}
}

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
const tracerProvider = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(new IpcSpanExporter())],
})
instrumentRunner({ tracerProvider })

const store = new SqliteActivityStore({ path: env('TEST_STORE_PATH') })
const pool = createPool({
  activity: createActivityTracker({ store }),
  engine: bullmqEngine({
    connection: env('TEST_REDIS_URL'),
    queueName: env('TEST_QUEUE'),
    prefix: env('TEST_PREFIX'),
  }),
  concurrency: 1,
})
const runner = new OpenAIRunner({
  activity: pool.activity,
  client: new OpenAI({ apiKey: 'test-key', baseURL: env('TEST_OPENAI_URL'), maxRetries: 0, logLevel: 'off' }),
})
pool.task(
  'research',
  { input: z.object({ topic: z.string(), model: z.string() }) },
  async ({ agentId, input, signal }) => {
    const result = await runner.run({ model: input.model }, input.topic, {
      agentId,
      signal,
      agentType: 'researcher',
    })
    return result.text
  },
)
await startWorker({ pool, signals: false })
process.send?.({ type: 'ready' })
