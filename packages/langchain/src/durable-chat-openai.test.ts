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

/** Two runners on one store (two processes, one database), each with its own ChatOpenAI client. */
function twoProcesses(model: string) {
  const store = new MemoryActivityStore()
  const process = () => {
    const runner = new LangChainRunner({ activity: store, retry: { attempts: 1 } })
    const chat = runner.chatModel(
      new ChatOpenAI({ model, apiKey: 'test-key', configuration: { baseURL: fake.openaiBaseURL } }),
    )
    return { runner, chat }
  }
  return { store, first: process(), second: process() }
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
