import { createOpenAI } from '@ai-sdk/openai'
import { MemoryActivityStore, type RunResult, type WaitingRunResult } from '@runner/core'
import { completed } from '@runner/core/test'
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import { type ToolSet, tool } from 'ai'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { AISDKRunner } from './ai-sdk-runner.js'
import type { AISDKOutput } from './output.js'
import { resumeIn, runOrWait } from './test-helpers/run-modes.js'

// Durable runs with the real @ai-sdk/openai provider over HTTP, against the test kit's OpenAI
// protocol fake: the conversation a resumed run sends is the provider's own conversion of the
// checkpointed messages (approval requests, denied results, a replayed answer with its metadata).

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(async () => {
  await fake.close()
})

function records() {
  const removed: string[] = []
  const tools: ToolSet = {
    search: tool({
      description: 'Searches the records.',
      inputSchema: z.object({ query: z.string() }),
      execute: async ({ query }) => `results for ${query}`,
    }),
    remove: tool({
      description: 'Deletes a record.',
      inputSchema: z.object({ id: z.string() }),
      needsApproval: true,
      execute: async ({ id }) => {
        removed.push(id)
        return `removed ${id}`
      },
    }),
  }
  return { removed, tools }
}

function waitingOf(result: RunResult<AISDKOutput>): WaitingRunResult {
  if (result.status !== 'waiting') throw new Error(`run ${result.agentId} completed: ${result.text}`)
  return result
}

const apis = [
  { api: 'responses', label: 'provider(model): Responses' },
  { api: 'chat', label: 'provider.chat(model): Chat Completions' },
] as const

describe.each(apis)('durable runs on @ai-sdk/openai, $label', ({ api }) => {
  const modelOf = (name: string) => {
    const provider = createOpenAI({ baseURL: fake.openaiBaseURL, apiKey: 'test' })
    return api === 'chat' ? provider.chat(name) : provider(name)
  }

  for (const streamed of [false, true]) {
    const mode = streamed ? 'runStreamed' : 'run'

    it(`approved in a new runner over the same store, the tool runs once and the run completes (${mode})`, async () => {
      const store = new MemoryActivityStore()
      const { removed, tools } = records()
      const agentId = `approve-${api}-${mode}`
      const first = fake.play(
        scenario()
          .toolCalls([
            { name: 'search', input: { query: 'r1' } },
            { name: 'remove', input: { id: 'r1' } },
          ])
          .usage({ inputTokens: 40, outputTokens: 10 }),
      )
      const before = new AISDKRunner({ activity: store })
      const waiting = waitingOf(
        (await runOrWait(streamed, before, { model: modelOf(first.model), tools }, 'Delete r1', { agentId }))
          .result,
      )
      expect(waiting.pending).toMatchObject([{ kind: 'approval', toolName: 'remove', input: { id: 'r1' } }])
      expect(removed).toEqual([])

      const after = new AISDKRunner({ activity: store })
      await after.approve(agentId, waiting.pending[0]!.id)
      const second = fake.play(scenario().text('Removed r1.').usage({ inputTokens: 60, outputTokens: 5 }))
      const { result } = await resumeIn(streamed, after, { model: modelOf(second.model), tools }, agentId)
      const done = await completed(result)
      expect(done.text).toBe('Removed r1.')
      expect(removed).toEqual(['r1'])
      expect(done.turns).toBe(2)
      expect(done.usage.totalTokens).toBe(115)
      second.player.assertDone()
      // The resumed request carries both tool results, as the provider sends them.
      const body = JSON.stringify(fake.requestsFor(second.model)[0]!.body)
      expect(body).toContain('removed r1')
      expect(body).toContain('results for r1')
      expect((await store.get(agentId))?.status).toBe('complete')
    })

    it(`denied, the model reads the reason and the tool never runs (${mode})`, async () => {
      const store = new MemoryActivityStore()
      const { removed, tools } = records()
      const agentId = `deny-${api}-${mode}`
      const first = fake.play(scenario().toolCall('remove', { id: 'r1' }))
      const runner = new AISDKRunner({ activity: store })
      const waiting = waitingOf(
        (await runOrWait(streamed, runner, { model: modelOf(first.model), tools }, 'Delete r1', { agentId }))
          .result,
      )
      const second = fake.play(scenario().text('I kept r1.'))
      const { result } = await resumeIn(streamed, runner, { model: modelOf(second.model), tools }, agentId, {
        decisions: { [waiting.pending[0]!.id]: { type: 'deny', reason: 'r1 is still in use' } },
      })
      expect((await completed(result)).text).toBe('I kept r1.')
      expect(removed).toEqual([])
      expect(JSON.stringify(fake.requestsFor(second.model)[0]!.body)).toContain('r1 is still in use')
    })
  }

  for (const streamed of [false, true]) {
    it(`a run abandoned while its second tool hangs resumes by agentId: the answer is replayed, no tool runs twice (${streamed ? 'runStreamed' : 'run'})`, async () => {
      const store = new MemoryActivityStore()
      const ran: string[] = []
      let hang = true
      const tools: ToolSet = {
        step: tool({
          description: 'A side effect.',
          inputSchema: z.object({ name: z.string() }),
          execute: async ({ name }) => {
            if (name === 'second' && hang) return new Promise<never>(() => {})
            ran.push(name)
            return `${name} done`
          },
        }),
      }
      const agentId = `crash-${api}-${streamed}`
      const first = fake.play(
        scenario()
          .toolCalls([
            { name: 'step', input: { name: 'first' } },
            { name: 'step', input: { name: 'second' } },
          ])
          .usage({ inputTokens: 30, outputTokens: 6 }),
      )
      void runOrWait(
        streamed,
        new AISDKRunner({ activity: store }),
        { model: modelOf(first.model), tools },
        'Do two things',
        {
          agentId,
        },
      )
      const deadline = Date.now() + 5000
      while (!(await store.getRun(agentId))?.journal.length) {
        if (Date.now() > deadline) throw new Error('the first call was not journaled')
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      hang = false
      const second = fake.play(scenario().text('Both done.').usage({ inputTokens: 50, outputTokens: 4 }))
      const resumed = await resumeIn(
        streamed,
        new AISDKRunner({ activity: store }),
        { model: modelOf(second.model), tools },
        agentId,
      )
      const done = await completed(resumed.result)
      expect(done.text).toBe('Both done.')
      expect(ran).toEqual(['first', 'second'])
      expect(done.turns).toBe(2)
      expect(done.usage.totalTokens).toBe(90)
      // One request after the resume: the answer in flight was replayed from the checkpoint.
      expect(fake.requestsFor(second.model)).toHaveLength(1)
      const body = JSON.stringify(fake.requestsFor(second.model)[0]!.body)
      expect(body).toContain('first done')
      expect(body).toContain('second done')
    })
  }
})
