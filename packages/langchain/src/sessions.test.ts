import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ChatOpenAI } from '@langchain/openai'
import { type ActivityStore, defineTool, InvalidOptionsError, MemoryActivityStore } from '@runner/core'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { type ProtocolFake, type RecordedRequest, scenario, startProtocolFake } from '@runner/testkit'
import { createAgent } from 'langchain'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { LangChainRunner } from './index.js'
import { toolsOf } from './test-helpers/agents.js'
import { modes, rejectionOf, runIn } from './test-helpers/run-modes.js'

// Sessions with a real ChatOpenAI over HTTP, against the test kit's OpenAI protocol fake.

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(() => fake.close())

const search = defineTool({
  name: 'search',
  description: 'Searches.',
  inputSchema: z.object({ query: z.string() }),
  execute: ({ query }) => `results for ${query}`,
})

function chatOpenAI(model: string) {
  return new ChatOpenAI({
    model,
    apiKey: 'test-key',
    maxRetries: 0,
    configuration: { baseURL: fake.openaiBaseURL },
  })
}

const runnerOn = (store: ActivityStore) => new LangChainRunner({ activity: store, retry: { attempts: 1 } })

/** What a Chat Completions request sent, in order: `user: ...`, `assistant: ...`, `call: name`, `result: ...`. */
function conversationOf(request: unknown): string[] {
  const messages = ((request as RecordedRequest | undefined)?.body.messages ?? []) as Array<
    Record<string, unknown>
  >
  return messages.flatMap((message): string[] => {
    const content = message.content
    const text = Array.isArray(content)
      ? content.map((block: { text?: string }) => block.text ?? '').join('')
      : String(content ?? '')
    if (message.role === 'system') return []
    if (message.role === 'tool') return [`result: ${text}`]
    const calls = (message.tool_calls as Array<{ function: { name: string } }> | undefined) ?? []
    return [
      ...(text === '' ? [] : [`${message.role}: ${text}`]),
      ...calls.map((call) => `call: ${call.function.name}`),
    ]
  })
}

describe('sessions', () => {
  for (const { streamed, label } of modes) {
    it(`${label}: a createAgent agent's second run sends the first run's input, tool calls and answer before its own`, async () => {
      const runner = runnerOn(new MemoryActivityStore())
      const { model, player } = fake.play(
        scenario()
          .toolCall('search', { query: 'otters' })
          .text('Otters hold hands.')
          .text('You asked about otters.'),
      )
      const agent = createAgent({ model: chatOpenAI(model), tools: toolsOf(runner, [search]) })
      const session = { id: 'chat-1', tenant: 'acme' }
      await runIn(streamed, runner, agent, 'Tell me about otters', { session })
      const { result } = await runIn(streamed, runner, agent, 'What did I ask?', { session })
      expect(result.text).toBe('You asked about otters.')
      expect(conversationOf(player.calls[2]?.request)).toEqual([
        'user: Tell me about otters',
        'call: search',
        'result: results for otters',
        'assistant: Otters hold hands.',
        'user: What did I ask?',
      ])
    })

    it(`${label}: a bare chat model continues the session too`, async () => {
      const runner = runnerOn(new MemoryActivityStore())
      const { model, player } = fake.play(scenario().text('Hello Ada.').text('Your name is Ada.'))
      const session = { id: 'model-1' }
      await runIn(streamed, runner, chatOpenAI(model), 'I am Ada', { session })
      await runIn(streamed, runner, chatOpenAI(model), 'Who am I?', { session })
      expect(conversationOf(player.calls[1]?.request)).toEqual([
        'user: I am Ada',
        'assistant: Hello Ada.',
        'user: Who am I?',
      ])
    })
  }

  it('keep.lastTurns: the request holds the last turns only', async () => {
    const runner = runnerOn(new MemoryActivityStore())
    const { model, player } = fake.play(scenario().text('one').text('two').text('three'))
    const agent = createAgent({ model: chatOpenAI(model), tools: [] })
    const session = { id: 'trim', keep: { lastTurns: 1 } }
    for (const text of ['first', 'second', 'third']) await runner.run(agent, text, { session })
    expect(conversationOf(player.calls[2]?.request)).toEqual([
      'user: second',
      'assistant: two',
      'user: third',
    ])
  })

  it('a run of another tenant sends none of the session', async () => {
    const runner = runnerOn(new MemoryActivityStore())
    const { model, player } = fake.play(scenario().text('noted').text('no idea'))
    const agent = createAgent({ model: chatOpenAI(model), tools: [] })
    await runner.run(agent, 'The code is 1234', { session: { id: 'same', tenant: 'acme' } })
    await runner.run(
      agent,
      { messages: [{ role: 'user', content: 'What is the code?' }] },
      {
        session: { id: 'same', tenant: 'globex' },
      },
    )
    expect(conversationOf(player.calls[1]?.request)).toEqual(['user: What is the code?'])
  })

  it('refuses an input that is not messages (a prompt’s variables), naming input', async () => {
    const runner = runnerOn(new MemoryActivityStore())
    const { model } = fake.play(scenario().text('unused'))
    const error = await rejectionOf(
      runner.run(chatOpenAI(model), { topic: 'otters' }, { session: { id: 'x' } }),
    )
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect((error as InvalidOptionsError).issues[0]?.field).toBe('input')
  })

  it('a SQLite file keeps the session for a new store (another process)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-langchain-sessions-'))
    try {
      const file = path.join(dir, 'runs.db')
      const { model, player } = fake.play(
        scenario().toolCall('search', { query: '42' }).text('Noted.').text('42.'),
      )
      const first = new SqliteActivityStore(file)
      const before = runnerOn(first)
      await before.run(
        createAgent({ model: chatOpenAI(model), tools: toolsOf(before, [search]) }),
        'Remember 42',
        {
          session: { id: 'kept' },
        },
      )
      await first.close()
      const second = new SqliteActivityStore(file)
      try {
        const after = runnerOn(second)
        await after.run(
          createAgent({ model: chatOpenAI(model), tools: toolsOf(after, [search]) }),
          'Which number?',
          {
            session: { id: 'kept' },
          },
        )
      } finally {
        await second.close()
      }
      expect(conversationOf(player.calls[2]?.request)).toEqual([
        'user: Remember 42',
        'call: search',
        'result: results for 42',
        'assistant: Noted.',
        'user: Which number?',
      ])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
