import {
  type ActivityStore,
  createActivityTracker,
  defineTool,
  InvalidOptionsError,
  MemoryActivityStore,
  type RunEvent,
  type RunResult,
} from '@runner/core'
import { completed } from '@runner/core/test'
import { type ProtocolFake, type RecordedRequest, scenario, startProtocolFake } from '@runner/testkit'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { OpenAIAgent, OpenAIApi } from './agent.js'
import type { OpenAIInput } from './conversation.js'
import { OpenAIRunner } from './openai-runner.js'
import { fakeClient } from './test-helpers/fake-client.js'
import { rewritingFetch } from './test-helpers/rewriting-fetch.js'
import { modes, rejectionOf } from './test-helpers/run-modes.js'

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(() => fake.close())

/** A runner on the fake over `store`: each one stands for another process. No run-level retries. */
function runnerOn(store: ActivityStore, client = fakeClient(fake.openaiBaseURL)): OpenAIRunner {
  return new OpenAIRunner({ client, activity: createActivityTracker({ store }), retry: { attempts: 1 } })
}

/** Tools that count what they did: the side effects a resume must not repeat. */
function sideEffects() {
  const sent: Array<{ to: string; key: string }> = []
  const searched: string[] = []
  const sendEmail = defineTool({
    name: 'send_email',
    description: 'Sends an email.',
    inputSchema: z.object({ to: z.string() }),
    needsApproval: true,
    execute: ({ to }, { idempotencyKey }) => {
      sent.push({ to, key: idempotencyKey })
      return `sent to ${to}`
    },
  })
  const search = defineTool({
    name: 'search',
    description: 'Searches.',
    inputSchema: z.object({ query: z.string() }),
    execute: ({ query }) => {
      searched.push(query)
      return `results for ${query}`
    },
  })
  return { sent, searched, tools: [search, sendEmail] }
}

/** Searches, asks to email (which needs approval), then answers. */
const searchThenEmail = () =>
  scenario()
    .toolCalls([
      { name: 'search', input: { query: 'otters' } },
      { name: 'send_email', input: { to: 'ada@example.org' } },
    ])
    .text('Sent.')

/** Starts a run with `run` or a drained `runStreamed`; it may end waiting. */
async function start(
  streamed: boolean,
  runner: OpenAIRunner,
  agent: OpenAIAgent,
  input: OpenAIInput,
): Promise<{ result: RunResult; events: RunEvent[] }> {
  if (!streamed) return { result: await runner.run(agent, input), events: [] }
  const stream = runner.runStreamed(agent, input)
  const events: RunEvent[] = []
  for await (const event of stream) events.push(event)
  return { result: await stream.result, events }
}

/** Resumes with `resume` or a drained `resumeStreamed`; it must complete. */
async function resumeIn(streamed: boolean, runner: OpenAIRunner, agent: OpenAIAgent, agentId: string) {
  if (!streamed) return { result: await completed(runner.resume(agent, agentId)), events: [] as RunEvent[] }
  const stream = runner.resumeStreamed(agent, agentId)
  const events: RunEvent[] = []
  for await (const event of stream) events.push(event)
  return { result: await completed(stream.result), events }
}

const bodyOf = (request: unknown) => (request as RecordedRequest).body

/** The conversation a request sent: Chat Completions messages or Responses input items. */
function conversationOf(request: unknown, api: OpenAIApi): Array<Record<string, unknown>> {
  const body = bodyOf(request)
  return (api === 'chat' ? body.messages : body.input) as Array<Record<string, unknown>>
}

/** The tool results a request gave the model, in the API's shape, as `{ id, output }`. */
function toolResultsIn(request: unknown, api: OpenAIApi): Array<{ id: string; output: string }> {
  return conversationOf(request, api).flatMap((item) => {
    if (api === 'chat' && item.role === 'tool')
      return [{ id: String(item.tool_call_id), output: String(item.content) }]
    if (api === 'responses' && item.type === 'function_call_output')
      return [{ id: String(item.call_id), output: String(item.output) }]
    return []
  })
}

describe('approvals (needsApproval)', () => {
  for (const { api, streamed, label } of modes) {
    it(`${label}: the call suspends the run; another runner approves and resumes, the tool runs once and the model reads its result`, async () => {
      const store = new MemoryActivityStore()
      const effects = sideEffects()
      const { model, player } = fake.play(searchThenEmail())
      const agent: OpenAIAgent = { model, api, tools: effects.tools }

      const first = await start(streamed, runnerOn(store), agent, 'Email Ada about otters')
      const waiting = first.result
      expect(waiting.status).toBe('waiting')
      if (waiting.status !== 'waiting') return
      expect(waiting.pending).toEqual([
        { id: 'call_0_1', kind: 'approval', toolName: 'send_email', input: { to: 'ada@example.org' } },
      ])
      if (streamed) {
        const last = first.events.at(-1)
        expect(last?.type === 'run-end' && last.result.status).toBe('waiting')
      }
      // The call that needs no approval ran; the other waits, and the model was asked once.
      expect(effects.searched).toEqual(['otters'])
      expect(effects.sent).toEqual([])
      expect(player.calls).toHaveLength(1)
      const activity = await store.get(waiting.agentId)
      expect(activity?.status).toBe('waiting')
      expect(activity?.log.at(-1)).toMatchObject({ status: 'waiting', kind: 'approval' })

      // Another runner (another process) decides and resumes; the input is not given again.
      const second = runnerOn(store)
      await second.approve(waiting.agentId, 'call_0_1', { by: 'grace' })
      const { result } = await resumeIn(streamed, second, agent, waiting.agentId)
      expect(result.text).toBe('Sent.')
      expect(result.turns).toBe(2)
      expect(result.usage).toMatchObject({ inputTokens: 20, outputTokens: 10, totalTokens: 30 })
      expect(effects.searched).toEqual(['otters'])
      expect(effects.sent).toEqual([{ to: 'ada@example.org', key: `${waiting.agentId}:call_0_1` }])
      expect((await store.get(waiting.agentId))?.status).toBe('complete')

      // The request after the resume: the whole conversation, the results in the API's shape.
      expect(player.calls).toHaveLength(2)
      const conversation = conversationOf(player.calls[1]?.request, api)
      if (api === 'chat') {
        expect(conversation.slice(1)).toEqual([
          { role: 'user', content: 'Email Ada about otters' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                id: 'call_0_0',
                type: 'function',
                function: { name: 'search', arguments: '{"query":"otters"}' },
              },
              {
                id: 'call_0_1',
                type: 'function',
                function: { name: 'send_email', arguments: '{"to":"ada@example.org"}' },
              },
            ],
          },
          { role: 'tool', tool_call_id: 'call_0_0', content: 'results for otters' },
          { role: 'tool', tool_call_id: 'call_0_1', content: 'sent to ada@example.org' },
        ])
      } else {
        expect(conversation).toEqual([
          { role: 'user', content: 'Email Ada about otters' },
          expect.objectContaining({ type: 'function_call', call_id: 'call_0_0', name: 'search' }),
          expect.objectContaining({ type: 'function_call', call_id: 'call_0_1', name: 'send_email' }),
          { type: 'function_call_output', call_id: 'call_0_0', output: 'results for otters' },
          { type: 'function_call_output', call_id: 'call_0_1', output: 'sent to ada@example.org' },
        ])
        expect(bodyOf(player.calls[1]?.request).previous_response_id).toBeUndefined()
      }
      // The result's conversation goes on across the suspension too.
      expect(result.output.messages.at(-1)).toMatchObject(
        api === 'chat' ? { role: 'assistant', content: 'Sent.' } : { type: 'message', role: 'assistant' },
      )
      player.assertDone()
    })
  }

  for (const api of ['chat', 'responses'] as const) {
    it(`${api}: a denial reaches the model as the tool's result ("Tool call denied: <reason>"); the tool never runs`, async () => {
      const store = new MemoryActivityStore()
      const effects = sideEffects()
      const { model, player } = fake.play(searchThenEmail())
      const agent: OpenAIAgent = { model, api, tools: effects.tools }
      const waiting = await runnerOn(store).run(agent, 'Email Ada about otters')
      expect(waiting.status).toBe('waiting')

      const second = runnerOn(store)
      await second.deny(waiting.agentId, 'call_0_1', { reason: 'not today' })
      const done = await completed(second.resume(agent, waiting.agentId))
      expect(done.text).toBe('Sent.')
      expect(effects.sent).toEqual([])
      expect(effects.searched).toEqual(['otters'])
      expect(toolResultsIn(player.calls[1]?.request, api)).toEqual([
        { id: 'call_0_0', output: 'results for otters' },
        { id: 'call_0_1', output: 'Tool call denied: not today' },
      ])
    })
  }

  it('a run resumed with an agent of the other API is refused with InvalidOptionsError naming agent.api', async () => {
    const store = new MemoryActivityStore()
    const effects = sideEffects()
    const { model } = fake.play(searchThenEmail())
    const runner = runnerOn(store)
    const waiting = await runner.run({ model, api: 'chat', tools: effects.tools }, 'Email Ada')
    await runner.approve(waiting.agentId, 'call_0_1')
    const error = await rejectionOf(
      runner.resume({ model, api: 'responses', tools: effects.tools }, waiting.agentId),
    )
    expect(InvalidOptionsError.isInstance(error) && error.field).toBe('agent.api')
    expect(String(error)).toContain("must be 'chat'")
    expect(effects.sent).toEqual([])
  })
})

describe('crash and resume', () => {
  for (const { api, streamed, label } of modes) {
    it(`${label}: a run abandoned in a tool call resumes on a fresh runner; journaled calls are not run again, text and usage as if uncrashed`, async () => {
      const started: string[] = []
      let hang = true
      const thirdStarted = Promise.withResolvers<void>()
      const step = defineTool({
        name: 'step',
        description: 'A side effect.',
        inputSchema: z.object({ name: z.string() }),
        execute: ({ name }) => {
          started.push(name)
          if (name === 'third' && hang) {
            thirdStarted.resolve()
            return new Promise<never>(() => {})
          }
          return `${name} done`
        },
      })
      const script = () =>
        scenario()
          .toolCall('step', { name: 'first' })
          .toolCalls([
            { name: 'step', input: { name: 'second' } },
            { name: 'step', input: { name: 'third' } },
          ])
          .text('All done.')

      // The same work, uncrashed, for comparison.
      hang = false
      const reference = fake.play(script())
      const uncrashed = await completed(
        runnerOn(new MemoryActivityStore()).run(
          { model: reference.model, api, tools: [step] },
          'Do three things',
        ),
      )
      started.length = 0
      hang = true

      const store = new MemoryActivityStore()
      const { model, player } = fake.play(script())
      const agent: OpenAIAgent = { model, api, tools: [step] }
      const agentId = `crash-${api}-${streamed}`
      // The process "dies" while the third call hangs: nobody awaits this run again.
      runnerOn(store)
        .run(agent, 'Do three things', { agentId })
        .catch(() => {})
      await thirdStarted.promise
      expect((await store.get(agentId))?.status).toBe('running')
      expect((await store.getRun(agentId))?.journal.map((entry) => entry.toolCallId).sort()).toEqual([
        'call_0_0',
        'call_1_0',
      ])

      hang = false
      const { result } = await resumeIn(streamed, runnerOn(store), agent, agentId)
      expect(result.text).toBe(uncrashed.text)
      expect(result.turns).toBe(uncrashed.turns)
      expect(result.usage).toEqual(uncrashed.usage)
      expect(result.usage.totalTokens).toBe(45)
      // first and second ran once (journaled); third had not completed, so it ran again.
      expect(started).toEqual(['first', 'second', 'third', 'third'])
      expect(player.calls).toHaveLength(3)
      expect(toolResultsIn(player.calls[2]?.request, api)).toEqual(
        toolResultsIn(reference.player.calls[2]?.request, api),
      )
      expect(toolResultsIn(player.calls[2]?.request, api)).toEqual([
        { id: 'call_0_0', output: 'first done' },
        { id: 'call_1_0', output: 'second done' },
        { id: 'call_1_1', output: 'third done' },
      ])
      const log = (await store.get(agentId))?.log ?? []
      expect(log.find((entry) => entry.kind === 'resume')?.message).toMatch(/checkpoint at turn 2/)
    })
  }
})

describe('responses: no server-side conversation state', () => {
  it('a resumed run sends the reasoning items as received (encrypted content included), never a previous_response_id', async () => {
    const store = new MemoryActivityStore()
    const effects = sideEffects()
    const reasoning = {
      id: 'rs_kept',
      type: 'reasoning',
      summary: [],
      encrypted_content: 'gAAAA-opaque',
    }
    // The first answer carries a reasoning item before its calls, as reasoning models send.
    const client = fakeClient(fake.openaiBaseURL, {
      fetch: rewritingFetch((data) => {
        const output = data.output as Array<{ type: string }> | undefined
        if (!output?.some((item) => item.type === 'function_call')) return data
        return { ...data, output: [reasoning, ...output] }
      }),
    })
    const { model, player } = fake.play(searchThenEmail())
    const agent: OpenAIAgent = {
      model,
      api: 'responses',
      tools: effects.tools,
      modelSettings: { store: false, extraBody: { include: ['reasoning.encrypted_content'] } },
    }
    const waiting = await runnerOn(store, client).run(agent, 'Email Ada')
    await runnerOn(store).approve(waiting.agentId, 'call_0_1')
    await completed(runnerOn(store, client).resume(agent, waiting.agentId))
    const sent = bodyOf(player.calls[1]?.request)
    expect(sent.previous_response_id).toBeUndefined()
    expect(sent.store).toBe(false)
    expect((sent.input as unknown[])[1]).toEqual(reasoning)
  })
})
