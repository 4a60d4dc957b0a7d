import { calcPrice } from '@pydantic/genai-prices'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryActivityStore } from '../activity/memory-store.js'
import { createActivityTracker } from '../activity/tracker.js'
import { BudgetExceededError } from '../errors/budget-exceeded-error.js'
import { CapabilityUnsupportedError } from '../errors/capability-unsupported-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { RunTimeoutError } from '../errors/run-timeout-error.js'
import { BaseAgentRunner } from '../runner/base-agent-runner.js'
import type { ExecuteResult, RunContext } from '../runner/types.js'
import { completed } from '../test/completed.js'
import { rejectionOf } from '../test/rejection-of.js'
import { ScriptedModel, ScriptedRunner, type ScriptStep } from '../test/scripted-runner.js'
import { defineTool } from '../tools/define-tool.js'

const searched: string[] = []
const search = defineTool({
  name: 'search',
  description: 'Searches',
  inputSchema: z.object({ query: z.string() }),
  execute: async ({ query }) => {
    searched.push(query)
    return `results for ${query}`
  },
})

const tokens = (inputTokens: number, outputTokens: number) => ({
  inputTokens,
  outputTokens,
  totalTokens: inputTokens + outputTokens,
})

/** A model that searches on every call (4,000 + 1,120 tokens each), then would answer. */
function searching(searches: number): ScriptStep[] {
  const steps: ScriptStep[] = []
  for (let index = 0; index < searches; index++)
    steps.push({ toolCalls: [{ name: 'search', input: { query: `q${index}` } }], usage: tokens(4000, 1120) })
  steps.push({ text: 'Here is what I found.', usage: tokens(500, 50) })
  return steps
}

async function drain<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of iterable) items.push(item)
  return items
}

function tracked() {
  const store = new MemoryActivityStore()
  return { store, activity: createActivityTracker({ store }) }
}

describe('budget.maxTokens', () => {
  it('fails the run before the call that would go past the limit: the model is not called again, the activity ends error saying what was spent', async () => {
    const { store, activity } = tracked()
    const runner = new ScriptedRunner({ activity })
    const model = new ScriptedModel(searching(5))
    const stream = runner.runStreamed({ model, tools: [search] }, 'Research otters', {
      agentId: 'tokens-fail',
      budget: { maxTokens: 10_000 },
    })
    const events = await drain(stream)
    const error = await rejectionOf(stream.result)

    // 5,120 tokens after the first call (under), 10,240 after the second: the third is never made.
    expect(model.calls).toHaveLength(2)
    expect(BudgetExceededError.isInstance(error)).toBe(true)
    const budgetError = error as BudgetExceededError
    expect(budgetError).toBeInstanceOf(BudgetExceededError)
    expect(budgetError.budget).toBe('maxTokens')
    expect(budgetError.limit).toBe(10_000)
    expect(budgetError.spent).toBe(10_240)
    expect(budgetError.message).toContain('Budget reached: 10,240 of 10,000 tokens')
    expect(budgetError.message).toContain('budget.maxTokens')

    const record = await store.get('tokens-fail')
    expect(record?.status).toBe('error')
    expect(record?.message).toContain('Budget reached: 10,240 of 10,000 tokens')
    expect(record?.log.map((entry) => entry.message)).toContain('Budget reached: 10,240 of 10,000 tokens')
    // Never retried: one attempt.
    expect(record?.log.some((entry) => entry.kind === 'retry')).toBe(false)

    expect(events).toContainEqual(
      expect.objectContaining({ type: 'status-update', message: 'Budget reached: 10,240 of 10,000 tokens' }),
    )
    expect(events.at(-1)?.type).toBe('run-error')
    const trajectory = await store.getTrajectory('tokens-fail')
    expect(trajectory?.status).toBe('error')
    expect(trajectory?.steps.filter((step) => step.kind === 'model-call')).toHaveLength(2)
    expect(trajectory?.steps.at(-1)).toMatchObject({
      kind: 'note',
      data: { budget: 'maxTokens', limit: 10_000, spent: 10_240 },
    })
  })

  it('a run under its budget completes as before', async () => {
    const runner = new ScriptedRunner()
    const model = new ScriptedModel(searching(1))
    const result = await completed(
      runner.run({ model, tools: [search] }, 'x', { budget: { maxTokens: 100_000, maxCostUsd: 5 } }),
    )
    expect(result.text).toBe('Here is what I found.')
    expect(result).not.toHaveProperty('budgetExceeded')
    expect(model.calls).toHaveLength(2)
  })

  it("onExceeded: 'wrap-up' makes one last call without tools asking for the answer, and completes with budgetExceeded", async () => {
    const { store, activity } = tracked()
    const runner = new ScriptedRunner({ activity })
    const steps = searching(5)
    // The model still tries to search in the wrap-up call: that call is not run.
    steps[2] = { ...steps[2], text: 'Otters hold hands while they sleep.' }
    const model = new ScriptedModel(steps)
    const stream = runner.runStreamed({ model, tools: [search] }, 'Research otters', {
      agentId: 'tokens-wrap-up',
      budget: { maxTokens: 10_000, onExceeded: 'wrap-up' },
    })
    const events = await drain(stream)
    const result = await completed(stream.result)

    expect(model.calls).toHaveLength(3)
    const last = model.calls[2]
    expect(last?.wrapUp).toBe(true)
    expect(last?.toolNames).toEqual([])
    expect(last?.instructions).toContain(runner.prompts.wrapUp)
    expect(result.text).toBe('Otters hold hands while they sleep.')
    expect(result.budgetExceeded).toBe(true)
    expect(result.maxTurnsReached).toBe(false)
    expect(result.usage.totalTokens).toBe(15_360)

    const record = await store.get('tokens-wrap-up')
    expect(record?.status).toBe('complete')
    expect(record?.log.map((entry) => entry.message)).toContain(
      'Budget reached: 10,240 of 10,000 tokens; asking the agent to wrap up',
    )
    expect(events).toContainEqual(expect.objectContaining({ type: 'turn-start', turn: 3, wrapUp: true }))
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'status-update',
        message: 'Budget reached: 10,240 of 10,000 tokens; asking the agent to wrap up',
      }),
    )
    expect(result.trajectory?.steps).toContainEqual(
      expect.objectContaining({ kind: 'note', data: expect.objectContaining({ budget: 'maxTokens' }) }),
    )
  })

  it('the runner`s budget is the default of every run; a run overrides the fields it names', async () => {
    const runner = new ScriptedRunner({ budget: { maxTokens: 6000, onExceeded: 'fail' } })
    const first = new ScriptedModel(searching(3))
    const error = await rejectionOf(runner.run({ model: first, tools: [search] }, 'x'))
    expect((error as BudgetExceededError).limit).toBe(6000)
    expect(first.calls).toHaveLength(2)

    const second = new ScriptedModel(searching(3))
    const result = await completed(
      runner.run({ model: second, tools: [search] }, 'x', { budget: { onExceeded: 'wrap-up' } }),
    )
    expect(result.budgetExceeded).toBe(true)
    expect(second.calls).toHaveLength(3)
  })

  it('counts the tokens of the whole run across a model request repeated after an error', async () => {
    const runner = new ScriptedRunner({ retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 1 } })
    const model = new ScriptedModel([
      ...searching(1).slice(0, 1),
      { error: Object.assign(new Error('overloaded'), { status: 529 }) },
      ...searching(1),
    ])
    const error = await rejectionOf(
      runner.run({ model, tools: [search] }, 'x', { budget: { maxTokens: 10_000 }, durable: false }),
    )
    expect(BudgetExceededError.isInstance(error)).toBe(true)
    expect((error as BudgetExceededError).spent).toBe(10_240)
  })
})

describe('budget.maxCostUsd', () => {
  it('fails before the call that would go past the limit of a priced model (gpt-4o-mini)', async () => {
    const found = calcPrice({ input_tokens: 0, output_tokens: 0 }, 'gpt-4o-mini', { providerId: 'openai' })
    const price = found?.model_price as Record<string, number>
    const perCall = (4000 * (price.input_mtok as number) + 1120 * (price.output_mtok as number)) / 1e6
    const { store, activity } = tracked()
    const runner = new ScriptedRunner({ activity })
    const model = new ScriptedModel(searching(5))
    // Reached after the third call, not the second.
    const limit = perCall * 2.5
    const error = await rejectionOf(
      runner.run({ model, tools: [search], modelId: 'gpt-4o-mini', provider: 'openai' }, 'x', {
        agentId: 'cost-fail',
        budget: { maxCostUsd: limit },
      }),
    )
    expect(model.calls).toHaveLength(3)
    expect(BudgetExceededError.isInstance(error)).toBe(true)
    const budgetError = error as BudgetExceededError
    expect(budgetError.budget).toBe('maxCostUsd')
    expect(budgetError.limit).toBe(limit)
    expect(budgetError.spent).toBeCloseTo(perCall * 3, 9)
    expect(budgetError.message).toMatch(/^Budget reached: \$0\.\d+ of \$0\.\d+\. Raise budget\.maxCostUsd/)
    const record = await store.get('cost-fail')
    expect(record?.status).toBe('error')
    expect(record?.log.some((entry) => entry.message.startsWith('Budget reached: $'))).toBe(true)
  })

  it('counts the calls of a model without a price as $0 and says so once on the activity', async () => {
    const { store, activity } = tracked()
    const runner = new ScriptedRunner({ activity })
    const modelId = `in-house-${Math.random().toString(36).slice(2)}`
    const model = new ScriptedModel(searching(2))
    const result = await completed(
      runner.run({ model, tools: [search], modelId, provider: 'openai' }, 'x', {
        agentId: 'cost-unpriced',
        budget: { maxCostUsd: 0.000001 },
      }),
    )
    expect(result.usage.costUsd).toBeUndefined()
    expect(model.calls).toHaveLength(3)
    const notes = (await store.get('cost-unpriced'))?.log.filter((entry) =>
      entry.message.includes('budget.maxCostUsd'),
    )
    expect(notes?.map((entry) => entry.message)).toEqual([
      `Model "${modelId}" has no price: its calls count as $0 against budget.maxCostUsd. Give its price in the runner's prices.`,
    ])
  })
})

describe('budgets with the rest of the lifecycle', () => {
  it('a durable run resumed from its checkpoint keeps counting from the checkpoint`s usage', async () => {
    const { store, activity } = tracked()
    const runner = new ScriptedRunner({ activity, retry: { attempts: 1 } })
    const send = defineTool({
      name: 'send_email',
      description: 'Sends an email',
      inputSchema: z.object({ to: z.string() }),
      needsApproval: true,
      execute: ({ to }) => `sent to ${to}`,
    })
    const waiting = await runner.run(
      {
        model: new ScriptedModel([
          { toolCalls: [{ name: 'send_email', input: { to: 'ada' }, id: 'c1' }], usage: tokens(5000, 200) },
        ]),
        tools: [send],
      },
      'Email Ada',
      { agentId: 'budget-resume' },
    )
    expect(waiting.status).toBe('waiting')
    expect(waiting.usage.totalTokens).toBe(5200)

    // 5,200 tokens before the resume: a budget of 5,000 is already reached, the model is not called.
    const model = new ScriptedModel([{ text: 'Sent.', usage: tokens(100, 10) }])
    const error = await rejectionOf(
      runner.resume({ model, tools: [send] }, 'budget-resume', {
        decisions: { c1: { type: 'approve' } },
        budget: { maxTokens: 5000 },
      }),
    )
    expect(BudgetExceededError.isInstance(error)).toBe(true)
    expect((error as BudgetExceededError).spent).toBe(5200)
    expect(model.calls).toHaveLength(0)
    expect((await store.get('budget-resume'))?.status).toBe('error')
  })

  it('cancel and timeout still end a run that has a budget', async () => {
    const runner = new ScriptedRunner({ retry: { attempts: 1 } })
    const controller = new AbortController()
    const canceled = runner.run({ model: new ScriptedModel([{ hang: true }]) }, 'x', {
      signal: controller.signal,
      budget: { maxTokens: 1000, onExceeded: 'wrap-up' },
    })
    setTimeout(() => controller.abort(), 10)
    expect(RunCanceledError.isInstance(await rejectionOf(canceled))).toBe(true)

    const timedOut = runner.run({ model: new ScriptedModel([{ hang: true }]) }, 'x', {
      timeoutMs: 30,
      budget: { maxTokens: 1000 },
    })
    expect(RunTimeoutError.isInstance(await rejectionOf(timedOut))).toBe(true)
  })

  it('refuses bad budgets with InvalidOptionsError naming the field, on the runner and on a run', async () => {
    const invalid = [
      [{ maxTokens: 0 }, 'budget.maxTokens'],
      [{ maxTokens: 1.5 }, 'budget.maxTokens'],
      [{ maxCostUsd: -1 }, 'budget.maxCostUsd'],
      [{ maxCostUsd: '1' }, 'budget.maxCostUsd'],
      [{ maxCostUsd: Number.POSITIVE_INFINITY }, 'budget.maxCostUsd'],
      [{ onExceeded: 'warn' }, 'budget.onExceeded'],
      [{ maxTokens: 10, tokens: 5 }, 'budget.tokens'],
      [10, 'budget'],
    ] as const
    for (const [budget, field] of invalid) {
      let error: unknown
      try {
        new ScriptedRunner({ budget: budget as never })
      } catch (caught) {
        error = caught
      }
      expect(InvalidOptionsError.isInstance(error), field).toBe(true)
      expect((error as InvalidOptionsError).field, field).toBe(field)
      expect((error as Error).message).toContain(field)

      const model = new ScriptedModel([{ text: 'ok' }])
      const refused = await rejectionOf(new ScriptedRunner().run({ model }, 'x', { budget: budget as never }))
      expect(InvalidOptionsError.isInstance(refused), field).toBe(true)
      expect((refused as InvalidOptionsError).field, field).toBe(field)
      expect(model.calls).toHaveLength(0)
    }
  })

  it("a runner that cannot wrap up refuses onExceeded: 'wrap-up' up front", async () => {
    class PlainRunner extends BaseAgentRunner<{ answer: string }, string, string> {
      override get capabilities() {
        return { ...super.capabilities, maxTurnsRecovery: false }
      }
      protected override async execute(
        context: RunContext,
        agent: { answer: string },
      ): Promise<ExecuteResult<string>> {
        await context.startTurn()
        return { output: agent.answer, text: agent.answer }
      }
    }
    const runner = new PlainRunner()
    const error = await rejectionOf(
      runner.run({ answer: 'hi' }, 'x', { budget: { maxTokens: 10, onExceeded: 'wrap-up' } }),
    )
    expect(CapabilityUnsupportedError.isInstance(error)).toBe(true)
    expect((error as Error).message).toContain("budget.onExceeded cannot be 'wrap-up'")
    const done = await runner.run({ answer: 'hi' }, 'x', { budget: { maxTokens: 10 } })
    expect(done.text).toBe('hi')
  })
})
