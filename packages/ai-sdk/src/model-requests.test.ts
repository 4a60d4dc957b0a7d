import type { RunEvent } from '@runner/core'
import { ScenarioPlayer, scenario } from '@runner/testkit'
import { describe, expect, it } from 'vitest'
import { AISDKRunner } from './ai-sdk-runner.js'
import type { AISDKOutput } from './output.js'
import { searchTools } from './test-helpers/neutral-tools.js'
import { agentOf, modes, runIn } from './test-helpers/run-modes.js'
import { scenarioModel } from './test-helpers/scenario-model.js'

const retries = (events: RunEvent<AISDKOutput>[]) => events.filter((event) => event.type === 'retry')

describe.each(modes)('a failed model request is repeated in place ($label)', ({ kind, streamed }) => {
  it('a 429 in turn 2: the request is sent again in its turn, the tool of turn 1 ran once', async () => {
    const runner = new AISDKRunner()
    const { tools, queries } = searchTools()
    const script = scenario()
      .toolCall('search', { query: 'otters' })
      .error(429, 'Rate limit reached')
      .text('Otters hold hands.')
    const { agent, player } = agentOf(kind, runner, script, { tools })
    const retried: Array<[number, number]> = []
    const { result, events } = await runIn(streamed, runner, agent, 'go', {
      agentId: 'in-place',
      retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
      hooks: { onRetry: ({ attempt, nextAttempt }) => void retried.push([attempt, nextAttempt]) },
    })
    expect(result.text).toBe('Otters hold hands.')
    expect(result.attempts).toBe(2)
    expect(result.turns).toBe(2)
    expect(queries).toEqual(['otters'])
    player.assertDone()
    // The repeated request is the failed one, as it was: same conversation, same tools.
    expect(player.calls[2]!.request).toEqual(player.calls[1]!.request)
    expect(retried).toEqual([[1, 2]])
    const retryLines = (await runner.activity.detail('in-place')).log.filter(
      (entry) => entry.kind === 'retry',
    )
    expect(retryLines).toMatchObject([
      { attempt: 2, message: 'Retrying (attempt 2 of 3): Rate limit reached' },
    ])
    const step = result.trajectory?.steps.find((candidate) => candidate.kind === 'retry')
    expect(step).toMatchObject({ turn: 2, data: { restart: false } })
    if (streamed) {
      expect(retries(events)).toMatchObject([{ attempt: 2, maxAttempts: 3, restart: false }])
      expect(events.filter((event) => event.type === 'turn-start')).toHaveLength(2)
    }
  })

  it('a request that keeps failing ends the run after retry.attempts requests', async () => {
    const runner = new AISDKRunner()
    const script = scenario().error(503, 'Overloaded').error(503, 'Overloaded').text('Never asked.')
    const { agent, player } = agentOf(kind, runner, script)
    const error = await runIn(streamed, runner, agent, 'go', {
      agentId: 'in-place-gives-up',
      retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(error).toMatchObject({ statusCode: 503 })
    expect(player.calls).toHaveLength(2)
    const detail = await runner.activity.detail('in-place-gives-up')
    expect(detail.status).toBe('error')
    expect(detail.log.filter((entry) => entry.kind === 'retry')).toMatchObject([{ attempt: 2 }])
  })
})

describe('a model that prepareStep returns', () => {
  it('is sent through the run’s retry policy too', async () => {
    const runner = new AISDKRunner()
    const first = new ScenarioPlayer(scenario().text('unused'))
    const second = new ScenarioPlayer(
      scenario().error(429, 'Rate limit reached').text('From the other model.'),
    )
    const other = scenarioModel(second)
    const result = await runner.run(
      { model: scenarioModel(first), prepareStep: () => ({ model: other }) },
      'go',
      {
        agentId: 'step-model',
        retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
      },
    )
    expect(result.text).toBe('From the other model.')
    expect(result.attempts).toBe(2)
    expect(first.calls).toHaveLength(0)
    expect(second.calls).toHaveLength(2)
    const detail = await runner.activity.detail('step-model')
    expect(detail.log.filter((entry) => entry.kind === 'retry')).toMatchObject([{ attempt: 2 }])
    // In place: the attempt was not started over.
    const step = result.trajectory?.steps.find((candidate) => candidate.kind === 'retry')
    expect(step?.data).toMatchObject({ restart: false })
  })
})
