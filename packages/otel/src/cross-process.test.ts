import { type ChildProcess, fork } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { trace } from '@opentelemetry/api'
import { type BullMQEngine, bullmqEngine } from '@runner/bullmq'
import { createActivityTracker, createPool } from '@runner/core'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { scenario, startProtocolFake } from '@runner/testkit'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { otelInMemory } from './test-helpers/otel.js'

const redisUrl = process.env.REDIS_URL || undefined
if (!redisUrl) console.warn('[@runner/otel tests] REDIS_URL is not set: the cross-process test is skipped.')

interface SentSpan {
  name: string
  traceId: string
  spanId: string
  parentSpanId?: string
  attributes: Record<string, unknown>
}

const workerScript = fileURLToPath(new URL('./test-helpers/traced-worker.ts', import.meta.url))
const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
}, 30_000)

describe.skipIf(!redisUrl)('one trace across processes', () => {
  it("a task enqueued under an active span runs in a BullMQ worker process, its invoke_agent span in the caller's trace", async () => {
    await using otel = otelInMemory()
    const fake = await startProtocolFake()
    cleanups.push(() => fake.close())
    const { model } = fake.play(scenario().text('Otters hold hands.'), { model: 'gpt-4o-mini' })
    const directory = mkdtempSync(join(tmpdir(), 'runner-otel-'))
    cleanups.push(() => rmSync(directory, { recursive: true, force: true }))
    const storePath = join(directory, 'activity.db')
    const id = randomUUID().slice(0, 8)
    const queue = { queueName: `otel-${id}`, prefix: `runner-test-${id}` }

    const store = new SqliteActivityStore({ path: storePath })
    const api = createPool({
      activity: createActivityTracker({ store }),
      engine: bullmqEngine({ connection: redisUrl as string, ...queue }),
    })
    cleanups.push(async () => {
      await (api.engine as BullMQEngine).queue.obliterate({ force: true }).catch(() => {})
      await api.close({ timeoutMs: 0 })
      await store.close()
    })
    const research = api.task(
      'research',
      { input: z.object({ topic: z.string(), model: z.string() }) },
      () => {
        throw new Error('runs in the worker process only')
      },
    )

    const received: SentSpan[] = []
    const child: ChildProcess = fork(workerScript, [], {
      env: {
        ...process.env,
        TEST_STORE_PATH: storePath,
        TEST_REDIS_URL: redisUrl as string,
        TEST_QUEUE: queue.queueName,
        TEST_PREFIX: queue.prefix,
        TEST_OPENAI_URL: fake.openaiBaseURL,
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    cleanups.push(() => {
      child.kill('SIGKILL')
    })
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (message: { type: string; spans?: SentSpan[] }) => {
        if (message.type === 'ready') resolve()
        if (message.type === 'spans') received.push(...(message.spans ?? []))
      })
      child.on('exit', (code) => reject(new Error(`the worker exited (${code}) before it was ready`)))
    })
    await ready

    const tracer = otel.tracerProvider.getTracer('test')
    const caller = await tracer.startActiveSpan('POST /research', async (span) => {
      const { agentId } = await research.enqueue({ topic: 'otters', model })
      span.end()
      return { agentId, traceId: span.spanContext().traceId, spanId: span.spanContext().spanId }
    })
    await expect(research.result(caller.agentId, { timeoutMs: 20_000 })).resolves.toBe('Otters hold hands.')
    await expect.poll(() => received.some((span) => span.name === 'invoke_agent researcher')).toBe(true)
    const run = received.find((span) => span.name === 'invoke_agent researcher') as SentSpan
    expect(run.traceId).toBe(caller.traceId)
    expect(run.parentSpanId).toBe(caller.spanId)
    expect(run.attributes['gen_ai.conversation.id']).toBe(caller.agentId)
    const call = received.find((span) => span.name === 'chat gpt-4o-mini')
    expect(call?.traceId).toBe(caller.traceId)
    expect(call?.parentSpanId).toBe(run.spanId)
    // Outside any span, the enqueue carries no trace: the worker's run starts a trace of its own.
    expect(trace.getActiveSpan()).toBeUndefined()
  }, 40_000)
})
