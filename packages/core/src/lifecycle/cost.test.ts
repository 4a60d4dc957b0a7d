import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { calcPrice } from '@pydantic/genai-prices'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createActivityTracker } from '../activity/tracker.js'
import type { Usage } from '../activity/types.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import type { RunEvent } from '../runner/events.js'
import type { RunHooks } from '../runner/hooks.js'
import { SqliteActivityStore } from '../sqlite/index.js'
import { ScriptedModel, ScriptedRunner, type ScriptStep } from '../test/scripted-runner.js'
import { defineTool } from '../tools/define-tool.js'
import { UNKNOWN_MODEL_PRICE_WARNING } from './pricing.js'

const searchTool = defineTool({
  name: 'search',
  description: 'Searches',
  inputSchema: z.object({ query: z.string() }),
  execute: async ({ query }) => `results for ${query}`,
})

/** The catalog's price per million tokens of a model, read from the catalog itself. */
function catalogPrice(model: string, providerId: string) {
  const found = calcPrice({ input_tokens: 0, output_tokens: 0 }, model, { providerId })
  if (!found) throw new Error(`${model} is not in the catalog`)
  const price = found.model_price as Record<string, number>
  return {
    input: price.input_mtok as number,
    output: price.output_mtok as number,
    cacheRead: price.cache_read_mtok ?? (price.input_mtok as number),
    cacheWrite: price.cache_write_mtok ?? (price.input_mtok as number),
  }
}

const usage = (inputTokens: number, outputTokens: number, extra: Partial<Usage> = {}): Usage => ({
  inputTokens,
  outputTokens,
  totalTokens: inputTokens + outputTokens,
  ...extra,
})

/** A search, then the answer: two model calls. */
function script(): ScriptStep[] {
  return [
    {
      toolCalls: [{ name: 'search', input: { query: 'otters' } }],
      usage: usage(1200, 40),
      model: 'gpt-4o-mini-2024-07-18',
      finishReason: 'tool_calls',
    },
    { text: 'Otters hold hands.', usage: usage(1500, 300), finishReason: 'stop' },
  ]
}

async function drain<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of iterable) items.push(item)
  return items
}

/** Warnings are emitted on the next tick. */
const warningsEmitted = () => new Promise((resolve) => setImmediate(resolve))

let warnings: Error[] = []
const onWarning = (warning: Error) => {
  if ((warning as Error & { code?: string }).code === UNKNOWN_MODEL_PRICE_WARNING) warnings.push(warning)
}
beforeEach(async () => {
  await warningsEmitted()
  warnings = []
  process.on('warning', onWarning)
})
afterEach(() => {
  process.off('warning', onWarning)
})

describe('cost of model calls', () => {
  it('prices each call of a catalog model: turn-end events, RunResult, trajectory, checkpoint, stored result', async () => {
    const activity = createActivityTracker()
    const runner = new ScriptedRunner({ activity })
    const price = catalogPrice('gpt-4o-mini', 'openai')
    const first = (1200 * price.input + 40 * price.output) / 1e6
    const second = (1500 * price.input + 300 * price.output) / 1e6
    const stream = runner.runStreamed(
      {
        model: new ScriptedModel(script()),
        tools: [searchTool],
        modelId: 'gpt-4o-mini',
        provider: 'openai',
      },
      'Tell me about otters',
      { agentId: 'priced' },
    )
    const events = await drain(stream)
    const result = await stream.result
    const turnEnds = events.filter((event): event is Extract<RunEvent, { type: 'turn-end' }> => {
      return event.type === 'turn-end'
    })
    expect(turnEnds.map((event) => event.usage.costUsd)).toEqual([
      expect.closeTo(first, 9),
      expect.closeTo(second, 9),
    ])
    expect(result.usage.costUsd).toBeCloseTo(first + second, 9)
    expect(result.usage.inputTokens).toBe(2700)

    const steps = result.trajectory?.steps.filter((step) => step.kind === 'model-call') ?? []
    expect(steps.map((step) => step.data)).toMatchObject([
      {
        model: 'gpt-4o-mini-2024-07-18',
        provider: 'openai',
        finishReasons: ['tool_calls'],
        usage: { costUsd: expect.closeTo(first, 9) },
      },
      {
        model: 'gpt-4o-mini',
        provider: 'openai',
        finishReasons: ['stop'],
        usage: { costUsd: expect.closeTo(second, 9) },
      },
    ])
    expect(result.trajectory?.usage.costUsd).toBeCloseTo(first + second, 9)
    const stored = await activity.store.getTrajectory('priced')
    expect(stored?.usage.costUsd).toBeCloseTo(first + second, 9)

    // The durable checkpoint of the first answer (saved with its tool call) carries its cost.
    const record = await activity.store.getRun('priced')
    expect(record?.checkpoint?.usage.costUsd).toBeCloseTo(first, 9)
    const kept = record?.result?.value as unknown as { usage: Usage }
    expect(kept.usage.costUsd).toBeCloseTo(first + second, 9)
    await warningsEmitted()
    expect(warnings).toEqual([])
  })

  it('a SQLite store keeps the cost on the checkpoint, the stored result and the trajectory', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-cost-'))
    const store = new SqliteActivityStore(path.join(dir, 'runs.db'))
    try {
      const runner = new ScriptedRunner({ activity: store })
      const result = await runner.run(
        {
          model: new ScriptedModel(script()),
          tools: [searchTool],
          modelId: 'gpt-4o-mini',
          provider: 'openai',
        },
        'Tell me about otters',
        { agentId: 'priced-sqlite' },
      )
      const price = catalogPrice('gpt-4o-mini', 'openai')
      const first = (1200 * price.input + 40 * price.output) / 1e6
      expect(result.usage.costUsd).toBeGreaterThan(first)
      const record = await store.getRun('priced-sqlite')
      expect(record?.checkpoint?.usage.costUsd).toBeCloseTo(first, 9)
      const kept = record?.result?.value as unknown as { usage: Usage } | undefined
      expect(kept?.usage.costUsd).toBe(result.usage.costUsd)
      expect((await store.getTrajectory('priced-sqlite'))?.usage.costUsd).toBe(result.usage.costUsd)
    } finally {
      await store.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('prices cache reads and writes at their own catalog prices (claude-sonnet-4)', async () => {
    const runner = new ScriptedRunner()
    const price = catalogPrice('claude-sonnet-4', 'anthropic')
    const result = await runner.run(
      {
        model: new ScriptedModel([
          {
            text: 'ok',
            usage: usage(10_000, 500, { cachedInputTokens: 6000, cacheWriteInputTokens: 3000 }),
            model: 'claude-sonnet-4-20250514',
          },
        ]),
        provider: 'anthropic',
      },
      'hi',
    )
    const expected =
      (1000 * price.input + 6000 * price.cacheRead + 3000 * price.cacheWrite + 500 * price.output) / 1e6
    expect(price.cacheRead).toBeLessThan(price.input)
    expect(price.cacheWrite).toBeGreaterThan(price.input)
    expect(result.usage.costUsd).toBeCloseTo(expected, 9)
    expect(result.usage.cacheWriteInputTokens).toBe(3000)
  })

  it('gives no cost for a model the catalog does not know, and warns once per model', async () => {
    const runner = new ScriptedRunner()
    const modelId = `in-house-model-${Math.random().toString(36).slice(2)}`
    const ends: Array<Usage | undefined> = []
    const hooks: RunHooks = { onModelCallEnd: (event) => void ends.push(event.usage) }
    const unknownScript = (): ScriptStep[] => script().map(({ model: _answered, ...step }) => step)
    for (let index = 0; index < 2; index++) {
      const stream = runner.runStreamed(
        { model: new ScriptedModel(unknownScript()), tools: [searchTool], modelId, provider: 'openai' },
        'x',
        { hooks },
      )
      const events = await drain(stream)
      const result = await stream.result
      expect(result.usage.costUsd).toBeUndefined()
      expect('costUsd' in result.usage).toBe(false)
      expect(result.trajectory?.usage.costUsd).toBeUndefined()
      for (const event of events) if (event.type === 'turn-end') expect(event.usage.costUsd).toBeUndefined()
    }
    expect(ends).toHaveLength(4)
    for (const used of ends) expect(used).not.toHaveProperty('costUsd')
    await warningsEmitted()
    expect(warnings.map((warning) => warning.message)).toEqual([
      expect.stringContaining(`No price for model "${modelId}" (provider openai)`),
    ])
    expect(warnings[0]?.message).toContain('prices')
  })

  it('never prices a model of a provider the catalog lacks from another provider', async () => {
    const runner = new ScriptedRunner()
    const result = await runner.run(
      {
        model: new ScriptedModel([{ text: 'ok', usage: usage(100, 10) }]),
        modelId: 'gpt-4o-mini',
        provider: `local-${Math.random().toString(36).slice(2)}`,
      },
      'x',
    )
    expect(result.usage.costUsd).toBeUndefined()
    await warningsEmitted()
    expect(warnings).toHaveLength(1)
  })

  it('prices with the runner`s prices over the catalog: provider/model first, then the model id', async () => {
    const runner = new ScriptedRunner({
      prices: {
        'gpt-4o-mini': { inputPerMTokUsd: 1, outputPerMTokUsd: 2 },
        'azure.ai.openai/gpt-4o-mini': {
          inputPerMTokUsd: 10,
          outputPerMTokUsd: 20,
          cacheReadPerMTokUsd: 5,
        },
        'in-house': { inputPerMTokUsd: 3, outputPerMTokUsd: 4 },
      },
    })
    const run = (modelId: string, provider: string, used: Usage) =>
      runner.run({ model: new ScriptedModel([{ text: 'ok', usage: used }]), modelId, provider }, 'x')
    expect((await run('gpt-4o-mini', 'openai', usage(1_000_000, 1_000_000))).usage.costUsd).toBe(3)
    expect(
      (
        await run(
          'gpt-4o-mini',
          'azure.ai.openai',
          usage(1_000_000, 1_000_000, { cachedInputTokens: 500_000 }),
        )
      ).usage.costUsd,
    ).toBe(27.5)
    expect((await run('in-house', 'ollama', usage(2_000_000, 1_000_000))).usage.costUsd).toBe(10)
    await warningsEmitted()
    expect(warnings).toEqual([])
  })

  it('prices a family of models by a prefix ending in *, the longest prefix winning after exact keys', async () => {
    const runner = new ScriptedRunner({
      prices: {
        'ft:gpt-4o-mini:*': { inputPerMTokUsd: 1, outputPerMTokUsd: 1 },
        'ft:gpt-4o-mini:acme:*': { inputPerMTokUsd: 2, outputPerMTokUsd: 2 },
        'ft:gpt-4o-mini:acme:exact': { inputPerMTokUsd: 5, outputPerMTokUsd: 5 },
        'openai/scripted-*': { inputPerMTokUsd: 3, outputPerMTokUsd: 3 },
      },
    })
    const run = (modelId: string) =>
      runner.run(
        {
          model: new ScriptedModel([{ text: 'ok', usage: usage(1_000_000, 0) }]),
          modelId,
          provider: 'openai',
        },
        'x',
      )
    expect((await run('ft:gpt-4o-mini:other:1')).usage.costUsd).toBe(1)
    expect((await run('ft:gpt-4o-mini:acme:2')).usage.costUsd).toBe(2)
    expect((await run('ft:gpt-4o-mini:acme:exact')).usage.costUsd).toBe(5)
    expect((await run('scripted-research-7')).usage.costUsd).toBe(3)
    await warningsEmitted()
    expect(warnings).toEqual([])
  })

  it('refuses invalid prices with InvalidOptionsError naming the field', () => {
    const invalid = [
      [{ 'gpt-4o-mini': { inputPerMTokUsd: -1, outputPerMTokUsd: 1 } }, 'prices.gpt-4o-mini.inputPerMTokUsd'],
      [{ 'gpt-4o-mini': { inputPerMTokUsd: 1 } }, 'prices.gpt-4o-mini.outputPerMTokUsd'],
      [{ 'gpt-4o-mini': { input: 1, outputPerMTokUsd: 1 } }, 'prices.gpt-4o-mini.inputPerMTokUsd'],
      [{ 'gpt-4o-mini': 0.15 }, 'prices.gpt-4o-mini'],
      [
        { x: { inputPerMTokUsd: 1, outputPerMTokUsd: 1, cacheReadPerMTokUsd: '1' } },
        'prices.x.cacheReadPerMTokUsd',
      ],
    ] as const
    for (const [prices, field] of invalid) {
      let error: unknown
      try {
        new ScriptedRunner({ prices: prices as never })
      } catch (caught) {
        error = caught
      }
      expect(InvalidOptionsError.isInstance(error), field).toBe(true)
      expect((error as InvalidOptionsError).field).toBe(field)
      expect((error as Error).message).toContain(field)
    }
  })
})

describe('model, provider, finish reasons and timing of model calls', () => {
  it('gives the hooks the model asked for, the one that answered, the provider and why it stopped', async () => {
    const starts: unknown[] = []
    const ends: unknown[] = []
    const runner = new ScriptedRunner({
      hooks: {
        onModelCallStart: ({ model, provider }) => void starts.push({ model, provider }),
        onModelCallEnd: (event) => void ends.push(event),
      },
    })
    await runner.run(
      { model: new ScriptedModel(script()), tools: [searchTool], modelId: 'gpt-4o-mini', provider: 'openai' },
      'x',
    )
    expect(starts).toEqual([
      { model: 'gpt-4o-mini', provider: 'openai' },
      { model: 'gpt-4o-mini', provider: 'openai' },
    ])
    expect(ends).toMatchObject([
      { model: 'gpt-4o-mini-2024-07-18', provider: 'openai', finishReasons: ['tool_calls'] },
      { model: 'gpt-4o-mini', provider: 'openai', finishReasons: ['stop'] },
    ])
    // Not streamed: no time to a first chunk.
    for (const event of ends) expect(event).not.toHaveProperty('timeToFirstChunkMs')
  })

  it('measures the time to the first chunk of a streamed call', async () => {
    const ends: Array<{ durationMs: number; timeToFirstChunkMs?: number }> = []
    const runner = new ScriptedRunner({ hooks: { onModelCallEnd: (event) => void ends.push(event) } })
    const stream = runner.runStreamed(
      { model: new ScriptedModel([{ text: 'streamed answer', delayMs: 30 }]), modelId: 'gpt-4o-mini' },
      'x',
    )
    await drain(stream)
    const result = await stream.result
    expect(ends).toHaveLength(1)
    expect(ends[0]?.timeToFirstChunkMs).toBeGreaterThanOrEqual(25)
    expect(ends[0]?.timeToFirstChunkMs).toBeLessThanOrEqual(ends[0]?.durationMs ?? 0)
    const step = result.trajectory?.steps.find((candidate) => candidate.kind === 'model-call')
    expect(step?.data.timeToFirstChunkMs).toBe(ends[0]?.timeToFirstChunkMs)
    // A call without usage is not priced: nothing to warn about.
    await warningsEmitted()
    expect(warnings).toEqual([])
  })

  it('leaves model and provider out when the runner does not say', async () => {
    const ends: object[] = []
    const runner = new ScriptedRunner({ hooks: { onModelCallEnd: (event) => void ends.push(event) } })
    const result = await runner.run({ model: new ScriptedModel([{ text: 'ok', usage: usage(10, 5) }]) }, 'x')
    expect(ends[0]).not.toHaveProperty('model')
    expect(ends[0]).not.toHaveProperty('provider')
    expect(result.usage).toEqual(usage(10, 5))
  })
})
