import type { AIMessage, BaseMessage } from '@langchain/core/messages'
import { tool } from '@langchain/core/tools'
import { ChatOpenAI } from '@langchain/openai'
import { MemoryActivityStore, type RunEvent } from '@runner/core'
import { completed } from '@runner/core/test'
import { type ProtocolFake, type RecordedRequest, scenario, startProtocolFake } from '@runner/testkit'
import { createAgent, humanInTheLoopMiddleware } from 'langchain'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { LangChainRunner } from './index.js'
import { until } from './test-helpers/run-modes.js'

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(() => fake.close())

/** A runner on `store` (one process) with its own ChatOpenAI client on `server`. */
function processOn(store: MemoryActivityStore, server: ProtocolFake, model: string) {
  const runner = new LangChainRunner({ activity: store, retry: { attempts: 1 } })
  const chat = runner.chatModel(
    new ChatOpenAI({ model, apiKey: 'test-key', configuration: { baseURL: server.openaiBaseURL } }),
  )
  return { runner, chat }
}

/** Two runners on one store (two processes, one database), each with its own ChatOpenAI client. */
function twoProcesses(model: string) {
  const store = new MemoryActivityStore()
  return { store, first: processOn(store, fake, model), second: processOn(store, fake, model) }
}

/** The messages of a thread's latest checkpoint: type, id, text and the names of the tools called. */
async function threadOf(runner: LangChainRunner, thread: string) {
  const tuple = await runner.checkpointer?.getTuple({ configurable: { thread_id: thread } })
  const messages = (tuple?.checkpoint.channel_values.messages ?? []) as BaseMessage[]
  return messages.map((message) => ({
    type: message.getType(),
    id: message.id,
    text: message.text,
    calls: ((message as AIMessage).tool_calls ?? []).map((call) => call.name),
  }))
}

const toolMessagesOf = (request: unknown) =>
  ((request as RecordedRequest).body.messages as Array<{ role: string; content: unknown }>)
    .filter((message) => message.role === 'tool')
    .map((message) => message.content)

describe('durable runs with ChatOpenAI over HTTP (the protocol fake)', () => {
  it('humanInTheLoopMiddleware: waiting after the first answer; another runner approves; the resumed, streamed run sends the result and completes', async () => {
    const { model, player } = fake.play(
      scenario()
        .toolCall('send_email', { to: 'ada@example.org' }, { id: 'call_mail' })
        .text('Mail sent to Ada.'),
    )
    const sent: string[] = []
    const sendEmail = tool(
      async ({ to }: { to: string }) => {
        sent.push(to)
        return `sent to ${to}`
      },
      { name: 'send_email', description: 'Sends an email.', schema: z.object({ to: z.string() }) },
    )
    const { first, second } = twoProcesses(model)
    const agent = (side: typeof first) =>
      createAgent({
        model: side.chat,
        tools: side.runner.wrapTools([sendEmail]),
        middleware: [humanInTheLoopMiddleware({ interruptOn: { send_email: true } })],
      })
    const waiting = await first.runner.run(agent(first), 'Mail Ada.', { agentId: 'mail' })
    if (waiting.status !== 'waiting') throw new Error(`expected a waiting run, got ${waiting.status}`)
    expect(waiting.pending).toMatchObject([
      { id: 'call_mail', kind: 'approval', toolName: 'send_email', input: { to: 'ada@example.org' } },
    ])
    expect(player.calls).toHaveLength(1)

    await second.runner.approve('mail', 'call_mail')
    const stream = second.runner.resumeStreamed(agent(second), 'mail')
    const events: RunEvent[] = []
    for await (const event of stream) events.push(event)
    const done = await completed(stream.result)
    expect(done.text).toBe('Mail sent to Ada.')
    expect(sent).toEqual(['ada@example.org'])
    expect(
      events
        .filter((event) => event.type === 'text-delta')
        .map((event) => event.text)
        .join(''),
    ).toBe('Mail sent to Ada.')
    expect(toolMessagesOf(player.calls[1]?.request)).toEqual(['sent to ada@example.org'])
    player.assertDone()
    expect(fake.errors).toEqual([])
  })

  it('crash and resume: the first process is lost while a tool hangs; a fresh runner resumes; search does not run twice; same answer', async () => {
    const { model, player } = fake.play(
      scenario()
        .toolCalls([
          { name: 'search', input: { query: 'otters' }, id: 'call_search' },
          { name: 'fetch_page', input: { url: 'https://otters.example' }, id: 'call_fetch' },
        ])
        .text('Otters hold hands while they sleep.'),
    )
    const searched: string[] = []
    const fetched: string[] = []
    const search = tool(
      async ({ query }: { query: string }) => {
        searched.push(query)
        return `results for ${query}`
      },
      { name: 'search', description: 'Searches the web.', schema: z.object({ query: z.string() }) },
    )
    const fetchPage = tool(
      async ({ url }: { url: string }) => {
        fetched.push(url)
        // The first process never gets an answer: it is lost here.
        if (fetched.length === 1) await new Promise(() => {})
        return `page ${url}`
      },
      { name: 'fetch_page', description: 'Fetches a page.', schema: z.object({ url: z.string() }) },
    )
    const { store, first, second } = twoProcesses(model)
    const agent = (side: typeof first) =>
      createAgent({ model: side.chat, tools: side.runner.wrapTools([search, fetchPage]) })
    void first.runner.run(agent(first), 'Otters?', { agentId: 'otters' }).catch(() => {})
    await until(() => searched.length === 1 && fetched.length === 1, 'both tool calls')
    expect((await store.get('otters'))?.status).toBe('running')

    const done = await completed(second.runner.resume(agent(second), 'otters'))
    expect(done.text).toBe('Otters hold hands while they sleep.')
    expect(searched).toEqual(['otters'])
    expect(fetched).toHaveLength(2)
    expect(player.calls).toHaveLength(2)
    expect(toolMessagesOf(player.calls[1]?.request).sort()).toEqual([
      'page https://otters.example',
      'results for otters',
    ])
    player.assertDone()
  })
})

// Each server numbers its answers from 1 (chatcmpl-fake-1, ...), as a restarted or another
// OpenAI-compatible server may: the resumed run's answer has the id of an answer the thread holds.
// LangGraph's messages reducer would put it in that answer's place; the runner gives it a new id.
describe('durable runs resumed on another runner whose ChatOpenAI talks to another server', () => {
  let other: ProtocolFake
  beforeEach(async () => {
    other = await startProtocolFake()
  })
  afterEach(() => other.close())

  const sendEmailTool = (sent: string[]) =>
    tool(
      async ({ to }: { to: string }) => {
        sent.push(to)
        return `sent to ${to}`
      },
      { name: 'send_email', description: 'Sends an email.', schema: z.object({ to: z.string() }) },
    )

  it('approved on the other runner: the resumed, streamed run adds the answer after the tool result and ends with it', async () => {
    const asking = fake.play(
      scenario().toolCall('send_email', { to: 'ada@example.org' }, { id: 'call_mail' }),
    )
    const answering = other.play(scenario().text('Mail sent to Ada.'))
    const sent: string[] = []
    const sendEmail = sendEmailTool(sent)
    const store = new MemoryActivityStore()
    const first = processOn(store, fake, asking.model)
    const second = processOn(store, other, answering.model)
    const agent = (side: typeof first) =>
      createAgent({
        model: side.chat,
        tools: side.runner.wrapTools([sendEmail]),
        middleware: [humanInTheLoopMiddleware({ interruptOn: { send_email: true } })],
      })
    const waiting = await first.runner.run(agent(first), 'Mail Ada.', { agentId: 'mail-elsewhere' })
    expect(waiting.status).toBe('waiting')

    await second.runner.approve('mail-elsewhere', 'call_mail')
    const stream = second.runner.resumeStreamed(agent(second), 'mail-elsewhere')
    const events: RunEvent[] = []
    for await (const event of stream) events.push(event)
    const done = await completed(stream.result)
    expect(done.text).toBe('Mail sent to Ada.')
    expect(sent).toEqual(['ada@example.org'])
    expect(toolMessagesOf(answering.player.calls[0]?.request)).toEqual(['sent to ada@example.org'])
    const thread = await threadOf(second.runner, 'mail-elsewhere')
    expect(thread.map(({ type, text, calls }) => ({ type, text, calls }))).toEqual([
      { type: 'human', text: 'Mail Ada.', calls: [] },
      { type: 'ai', text: '', calls: ['send_email'] },
      { type: 'tool', text: 'sent to ada@example.org', calls: [] },
      { type: 'ai', text: 'Mail sent to Ada.', calls: [] },
    ])
    // Both servers answered `chatcmpl-fake-1`: the first answer keeps its id, the later one gets a new one.
    expect(thread[1]?.id).toBe('chatcmpl-fake-1')
    expect(thread[3]?.id).toMatch(/^chatcmpl-fake-1-run-/)
    asking.player.assertDone()
    answering.player.assertDone()
    expect([...fake.errors, ...other.errors]).toEqual([])
  })

  it('crash and resume on the other runner: the answer is added after the tool results; no tool call is lost from the thread', async () => {
    const crashing = fake.play(
      scenario().toolCalls([
        { name: 'search', input: { query: 'otters' }, id: 'call_search' },
        { name: 'fetch_page', input: { url: 'https://otters.example' }, id: 'call_fetch' },
      ]),
    )
    const answering = other.play(scenario().text('Otters hold hands while they sleep.'))
    const searched: string[] = []
    const fetched: string[] = []
    const search = tool(
      async ({ query }: { query: string }) => {
        searched.push(query)
        return `results for ${query}`
      },
      { name: 'search', description: 'Searches the web.', schema: z.object({ query: z.string() }) },
    )
    const fetchPage = tool(
      async ({ url }: { url: string }) => {
        fetched.push(url)
        // The first process never gets an answer: it is lost here.
        if (fetched.length === 1) await new Promise(() => {})
        return `page ${url}`
      },
      { name: 'fetch_page', description: 'Fetches a page.', schema: z.object({ url: z.string() }) },
    )
    const store = new MemoryActivityStore()
    const first = processOn(store, fake, crashing.model)
    const second = processOn(store, other, answering.model)
    const agent = (side: typeof first) =>
      createAgent({ model: side.chat, tools: side.runner.wrapTools([search, fetchPage]) })
    void first.runner.run(agent(first), 'Otters?', { agentId: 'otters-elsewhere' }).catch(() => {})
    await until(() => searched.length === 1 && fetched.length === 1, 'both tool calls')

    const done = await completed(second.runner.resume(agent(second), 'otters-elsewhere'))
    expect(done.text).toBe('Otters hold hands while they sleep.')
    expect(done.turns).toBe(2)
    expect(searched).toEqual(['otters'])
    expect(fetched).toHaveLength(2)
    const thread = await threadOf(second.runner, 'otters-elsewhere')
    expect(thread.map(({ type, calls }) => ({ type, calls }))).toEqual([
      { type: 'human', calls: [] },
      { type: 'ai', calls: ['search', 'fetch_page'] },
      { type: 'tool', calls: [] },
      { type: 'tool', calls: [] },
      { type: 'ai', calls: [] },
    ])
    expect(thread.at(-1)?.text).toBe('Otters hold hands while they sleep.')
    expect(new Set(thread.map((message) => message.id)).size).toBe(thread.length)
    crashing.player.assertDone()
    answering.player.assertDone()
  })
})
