import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createOpenAI } from '@ai-sdk/openai'
import { type ActivityStore, MemoryActivityStore } from '@runner/core'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { type ProtocolFake, type RecordedRequest, runIn, scenario, startProtocolFake } from '@runner/testkit'
import { type ModelMessage, ToolLoopAgent, tool } from 'ai'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { AISDKRunner } from './ai-sdk-runner.js'

// Sessions with the real @ai-sdk/openai provider over HTTP, against the test kit's OpenAI
// protocol fake: what the second run sends is the provider's own conversion of the stored messages.

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(async () => {
  await fake.close()
})

const chatModel = (name: string) => createOpenAI({ baseURL: fake.openaiBaseURL, apiKey: 'test' }).chat(name)
const runnerOn = (store: ActivityStore) => new AISDKRunner({ activity: store, retry: { attempts: 1 } })

const tools = {
  search: tool({
    description: 'Searches.',
    inputSchema: z.object({ query: z.string() }),
    execute: async ({ query }) => `results for ${query}`,
  }),
}

/** What a Chat Completions request sent, in order: `user: ...`, `assistant: ...`, `call: name`, `result: ...`. */
function conversationOf(request: RecordedRequest | undefined): string[] {
  const messages = (request?.body.messages ?? []) as Array<Record<string, unknown>>
  return messages.flatMap((message): string[] => {
    if (message.role === 'system') return []
    if (message.role === 'tool') return [`result: ${String(message.content).replaceAll('"', '')}`]
    const calls = (message.tool_calls as Array<{ function: { name: string } }> | undefined) ?? []
    const content = message.content
    const text =
      typeof content === 'string'
        ? content
        : Array.isArray(content)
          ? content.map((part: { text?: string }) => part.text ?? '').join('')
          : ''
    return [
      ...(text === '' ? [] : [`${message.role}: ${text}`]),
      ...calls.map((call) => `call: ${call.function.name}`),
    ]
  })
}

describe('sessions on @ai-sdk/openai (Chat Completions)', () => {
  for (const streamed of [false, true]) {
    const mode = streamed ? 'runStreamed' : 'run'

    it(`${mode}: a session's second run sends the first run's input, tool calls and answer before its own`, async () => {
      const runner = runnerOn(new MemoryActivityStore())
      const { model } = fake.play(
        scenario()
          .toolCall('search', { query: 'otters' })
          .text('Otters hold hands.')
          .text('You asked about otters.'),
      )
      const agent = { model: chatModel(model), tools }
      const session = { id: 'chat-1', tenant: 'acme' }
      await runIn(streamed, runner, agent, 'Tell me about otters', { session })
      const { result } = await runIn(streamed, runner, agent, 'What did I ask?', { session })
      expect(result.text).toBe('You asked about otters.')
      expect(conversationOf(fake.requestsFor(model)[2])).toEqual([
        'user: Tell me about otters',
        'call: search',
        'result: results for otters',
        'assistant: Otters hold hands.',
        'user: What did I ask?',
      ])
    })

    it(`${mode}: a ToolLoopAgent with { messages } input continues the session too`, async () => {
      const runner = runnerOn(new MemoryActivityStore())
      const { model } = fake.play(scenario().text('Hello Ada.').text('Your name is Ada.'))
      const agent = new ToolLoopAgent({ model: chatModel(model) })
      const session = { id: 'agent-1' }
      await runIn(streamed, runner, agent, 'I am Ada', { session })
      const next: ModelMessage[] = [{ role: 'user', content: 'Who am I?' }]
      await runIn(streamed, runner, agent, { messages: next }, { session })
      expect(conversationOf(fake.requestsFor(model)[1])).toEqual([
        'user: I am Ada',
        'assistant: Hello Ada.',
        'user: Who am I?',
      ])
    })
  }

  it('keep.lastTurns: the request holds the last turns only', async () => {
    const runner = runnerOn(new MemoryActivityStore())
    const { model } = fake.play(scenario().text('one').text('two').text('three'))
    const session = { id: 'trim', keep: { lastTurns: 1 } }
    for (const text of ['first', 'second', 'third'])
      await runner.run({ model: chatModel(model) }, text, { session })
    expect(conversationOf(fake.requestsFor(model)[2])).toEqual([
      'user: second',
      'assistant: two',
      'user: third',
    ])
  })

  it('a run of another tenant sends none of the session', async () => {
    const runner = runnerOn(new MemoryActivityStore())
    const { model } = fake.play(scenario().text('noted').text('no idea'))
    await runner.run({ model: chatModel(model) }, 'The code is 1234', {
      session: { id: 'same', tenant: 'acme' },
    })
    await runner.run({ model: chatModel(model) }, 'What is the code?', {
      session: { id: 'same', tenant: 'globex' },
    })
    expect(conversationOf(fake.requestsFor(model)[1])).toEqual(['user: What is the code?'])
  })

  it('a SQLite file keeps the session for a new store (another process)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-ai-sdk-sessions-'))
    try {
      const file = path.join(dir, 'runs.db')
      const { model } = fake.play(scenario().text('Noted.').text('42.'))
      const first = new SqliteActivityStore(file)
      await runnerOn(first).run({ model: chatModel(model) }, 'Remember 42', { session: { id: 'kept' } })
      await first.close()
      const second = new SqliteActivityStore(file)
      try {
        await runnerOn(second).run({ model: chatModel(model) }, 'Which number?', { session: { id: 'kept' } })
      } finally {
        await second.close()
      }
      expect(conversationOf(fake.requestsFor(model)[1])).toEqual([
        'user: Remember 42',
        'assistant: Noted.',
        'user: Which number?',
      ])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
