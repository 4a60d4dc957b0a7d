import type { MessageParam } from '@anthropic-ai/sdk/resources/messages'
import {
  type ActivityStore,
  createActivityTracker,
  defineTool,
  MemoryActivityStore,
  type RunEvent,
  type RunResult,
} from '@runner/core'
import { completed } from '@runner/core/test'
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ClaudeRunner } from './claude-runner.js'
import { clientFor } from './test-helpers/harness.js'
import { startMessagesServer } from './test-helpers/messages-server.js'
import type { ClaudeAgent, ClaudeInput } from './types.js'

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(() => fake.close())

/** A runner on the fake over `store`: each one stands for another process. No run-level retries. */
function runnerOn(store: ActivityStore): ClaudeRunner {
  return new ClaudeRunner({
    client: clientFor(fake.anthropicBaseURL),
    activity: createActivityTracker({ store }),
    retry: { attempts: 1 },
  })
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
  runner: ClaudeRunner,
  agent: ClaudeAgent,
  input: ClaudeInput,
): Promise<{ result: RunResult; events: RunEvent[] }> {
  if (!streamed) return { result: await runner.run(agent, input), events: [] }
  const stream = runner.runStreamed(agent, input)
  const events: RunEvent[] = []
  for await (const event of stream) events.push(event)
  return { result: await stream.result, events }
}

/** Resumes with `resume` or a drained `resumeStreamed`; it must complete. */
async function resumeIn(streamed: boolean, runner: ClaudeRunner, agent: ClaudeAgent, agentId: string) {
  if (!streamed) return { result: await completed(runner.resume(agent, agentId)), events: [] as RunEvent[] }
  const stream = runner.resumeStreamed(agent, agentId)
  const events: RunEvent[] = []
  for await (const event of stream) events.push(event)
  return { result: await completed(stream.result), events }
}

/** The messages a request sent. */
const messagesOf = (model: string, call: number): MessageParam[] =>
  fake.requestsFor(model)[call]?.body.messages as MessageParam[]

/** The tool_result blocks of a request, in order. */
function toolResultsIn(model: string, call: number): unknown[] {
  return messagesOf(model, call).flatMap((message) =>
    typeof message.content === 'string'
      ? []
      : message.content.filter((block) => block.type === 'tool_result'),
  )
}

const modes = [
  { streamed: false, label: 'run' },
  { streamed: true, label: 'runStreamed' },
]

describe('ClaudeRunner approvals (needsApproval)', () => {
  for (const { streamed, label } of modes) {
    it(`${label}: the call suspends the run; another runner approves and resumes, the tool runs once and Claude reads its tool_result`, async () => {
      const store = new MemoryActivityStore()
      const effects = sideEffects()
      const { model, player } = fake.play(searchThenEmail())
      const agent: ClaudeAgent = { model, maxTokens: 1024, tools: effects.tools }

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

      // The request after the resume: the whole conversation, results as one user turn of tool_result blocks.
      expect(messagesOf(model, 1)).toEqual([
        { role: 'user', content: 'Email Ada about otters' },
        {
          role: 'assistant',
          content: [
            expect.objectContaining({
              type: 'tool_use',
              id: 'call_0_0',
              name: 'search',
              input: { query: 'otters' },
            }),
            expect.objectContaining({
              type: 'tool_use',
              id: 'call_0_1',
              name: 'send_email',
              input: { to: 'ada@example.org' },
            }),
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_0_0', content: 'results for otters' },
            { type: 'tool_result', tool_use_id: 'call_0_1', content: 'sent to ada@example.org' },
          ],
        },
      ])
      expect(result.output.messages.at(-1)).toMatchObject({ role: 'assistant' })
      player.assertDone()
    })
  }

  it('a denial reaches Claude as a tool_result with is_error ("Tool call denied: <reason>"); the tool never runs', async () => {
    const store = new MemoryActivityStore()
    const effects = sideEffects()
    const { model } = fake.play(searchThenEmail())
    const agent: ClaudeAgent = { model, maxTokens: 1024, tools: effects.tools }
    const waiting = await runnerOn(store).run(agent, 'Email Ada about otters')
    expect(waiting.status).toBe('waiting')

    const second = runnerOn(store)
    await second.deny(waiting.agentId, 'call_0_1', { reason: 'not today' })
    const done = await completed(second.resume(agent, waiting.agentId))
    expect(done.text).toBe('Sent.')
    expect(effects.sent).toEqual([])
    expect(effects.searched).toEqual(['otters'])
    expect(toolResultsIn(model, 1)).toEqual([
      { type: 'tool_result', tool_use_id: 'call_0_0', content: 'results for otters' },
      {
        type: 'tool_result',
        tool_use_id: 'call_0_1',
        content: 'Tool call denied: not today',
        is_error: true,
      },
    ])
  })
})

describe('ClaudeRunner crash and resume', () => {
  for (const { streamed, label } of modes) {
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
          { model: reference.model, maxTokens: 1024, tools: [step] },
          'Do three things',
        ),
      )
      started.length = 0
      hang = true

      const store = new MemoryActivityStore()
      const { model, player } = fake.play(script())
      const agent: ClaudeAgent = { model, maxTokens: 1024, tools: [step] }
      const agentId = `claude-crash-${label}`
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
      expect(toolResultsIn(model, 2)).toEqual(toolResultsIn(reference.model, 2))
      expect(toolResultsIn(model, 2)).toEqual([
        { type: 'tool_result', tool_use_id: 'call_0_0', content: 'first done' },
        { type: 'tool_result', tool_use_id: 'call_1_0', content: 'second done' },
        { type: 'tool_result', tool_use_id: 'call_1_1', content: 'third done' },
      ])
      const log = (await store.get(agentId))?.log ?? []
      expect(log.find((entry) => entry.kind === 'resume')?.message).toMatch(/checkpoint at turn 2/)
    })
  }

  it('the thinking block of an answer that called tools is checkpointed and sent back signed after the resume', async () => {
    // The scenario language puts thinking only on text turns: a scripted Messages server here.
    await using server = await startMessagesServer([
      {
        content: [
          { type: 'thinking', thinking: 'Ada asked for an email.' },
          { type: 'tool_use', id: 'toolu_1', name: 'send_email', input: { to: 'ada@example.org' } },
        ],
        stop_reason: 'tool_use',
      },
      { content: [{ type: 'text', text: 'Sent.' }], stop_reason: 'end_turn' },
    ])
    const store = new MemoryActivityStore()
    const effects = sideEffects()
    const runner = () =>
      new ClaudeRunner({
        client: clientFor(server.url),
        activity: createActivityTracker({ store }),
        retry: { attempts: 1 },
      })
    const agent: ClaudeAgent = { model: 'claude-test', maxTokens: 1024, tools: effects.tools }
    const waiting = await runner().run(agent, 'Email Ada')
    expect(waiting.status).toBe('waiting')
    await runner().approve(waiting.agentId, 'toolu_1')
    const done = await completed(runner().resume(agent, waiting.agentId))
    expect(done.text).toBe('Sent.')
    expect(effects.sent).toHaveLength(1)
    expect(server.requests[1]?.messages).toEqual([
      { role: 'user', content: 'Email Ada' },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'Ada asked for an email.', signature: 'sig' },
          expect.objectContaining({ type: 'tool_use', id: 'toolu_1', name: 'send_email' }),
        ],
      },
      {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'sent to ada@example.org' }],
      },
    ])
  })
})
