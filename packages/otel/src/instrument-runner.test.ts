import { InvalidOptionsError } from '@runner/core'
import { OpenAIRunner } from '@runner/openai'
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import OpenAI from 'openai'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { instrumentRunner } from './index.js'
import { otelInMemory, parentOf } from './test-helpers/otel.js'

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(async () => {
  vi.unstubAllEnvs()
  await fake.close()
})

const runnerOnFake = () =>
  new OpenAIRunner({
    client: new OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, maxRetries: 0, logLevel: 'off' }),
  })

describe('instrumentRunner', () => {
  it("a run inside an active span joins the caller's trace", async () => {
    await using otel = otelInMemory()
    const { model } = fake.play(scenario().text('Hi.'))
    const tracer = otel.tracerProvider.getTracer('app')
    const caller = await tracer.startActiveSpan('handle request', async (span) => {
      await runnerOnFake().run({ model }, 'x', { agentType: 'greeter' })
      span.end()
      return span.spanContext()
    })
    const run = otel.span('invoke_agent greeter')
    expect(run.spanContext().traceId).toBe(caller.traceId)
    expect(parentOf(run)).toBe(caller.spanId)
  })

  it('captures content when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true', async () => {
    vi.stubEnv('OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT', 'true')
    await using otel = otelInMemory()
    const { model } = fake.play(scenario().text('Hi there.'))
    await runnerOnFake().run({ model }, 'Say hi', { agentType: 'greeter' })
    const run = otel.span('invoke_agent greeter')
    expect(run.attributes['gen_ai.input.messages']).toContain('Say hi')
    expect(run.attributes['gen_ai.output.messages']).toContain('Hi there.')
  })

  it('shutdown stops tracing new runs; calling it twice is harmless', async () => {
    const otel = otelInMemory()
    otel.instrumentation.shutdown()
    otel.instrumentation.shutdown()
    const { model } = fake.play(scenario().text('Hi.'))
    await runnerOnFake().run({ model }, 'x', { agentType: 'untraced' })
    expect(otel.spans()).toEqual([])
    await otel[Symbol.asyncDispose]()
  })

  it('refuses bad options with InvalidOptionsError naming the field', () => {
    expect(() => instrumentRunner({ tracerProvider: {} as never })).toThrow(InvalidOptionsError)
    expect(() => instrumentRunner({ tracerProvider: {} as never })).toThrow(/tracerProvider/)
    expect(() => instrumentRunner({ meterProvider: 1 as never })).toThrow(/meterProvider/)
    expect(() => instrumentRunner({ captureContent: 'yes' as never })).toThrow(
      /captureContent: must be true or false/,
    )
  })
})
