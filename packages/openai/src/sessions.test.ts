import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { type ActivityStore, defineTool, MemoryActivityStore } from '@runner/core'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { type ProtocolFake, type RecordedRequest, scenario, startProtocolFake } from '@runner/testkit'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { OpenAIAgent, OpenAIApi } from './agent.js'
import { OpenAIRunner } from './openai-runner.js'
import { fakeClient } from './test-helpers/fake-client.js'
import { modes, runIn } from './test-helpers/run-modes.js'

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(() => fake.close())

function runnerOn(store: ActivityStore): OpenAIRunner {
  return new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL), activity: store, retry: { attempts: 1 } })
}

const search = defineTool({
  name: 'search',
  description: 'Searches.',
  inputSchema: z.object({ query: z.string() }),
  execute: ({ query }) => `results for ${query}`,
})

/** What a request sent, in order: `user: ...`, `assistant: ...`, `call: name`, `result: ...` (no system message). */
function conversationOf(request: unknown, api: OpenAIApi): string[] {
  const body = (request as RecordedRequest).body
  const items = (api === 'chat' ? body.messages : body.input) as Array<Record<string, unknown>>
  return items.flatMap((item): string[] => {
    if (api === 'chat') {
      if (item.role === 'system' || item.role === 'developer') return []
      if (item.role === 'tool') return [`result: ${item.content}`]
      const calls = (item.tool_calls as Array<{ function: { name: string } }> | undefined) ?? []
      const text =
        typeof item.content === 'string' && item.content !== '' ? [`${item.role}: ${item.content}`] : []
      return [...text, ...calls.map((call) => `call: ${call.function.name}`)]
    }
    if (item.type === 'function_call') return [`call: ${item.name}`]
    if (item.type === 'function_call_output') return [`result: ${item.output}`]
    if (item.role === 'system' || item.role === 'developer') return []
    const content = item.content
    const text =
      typeof content === 'string'
        ? content
        : (content as Array<{ text?: string }>).map((part) => part.text ?? '').join('')
    return [`${item.role}: ${text}`]
  })
}

describe('sessions', () => {
  for (const { api, streamed, label } of modes) {
    it(`${label}: a session's second run sends the first run's input, tool calls and answer before its own`, async () => {
      const runner = runnerOn(new MemoryActivityStore())
      const { model, player } = fake.play(
        scenario()
          .toolCall('search', { query: 'otters' })
          .text('Otters hold hands.')
          .text('You asked about otters.'),
      )
      const agent: OpenAIAgent = { model, api, tools: [search] }
      const session = { id: 'chat-1', tenant: 'acme' }
      await runIn(streamed, runner, agent, 'Tell me about otters', { session })
      const { result } = await runIn(streamed, runner, agent, 'What did I ask?', { session })
      expect(result.text).toBe('You asked about otters.')
      expect(conversationOf(player.calls[2]?.request, api)).toEqual([
        'user: Tell me about otters',
        'call: search',
        'result: results for otters',
        'assistant: Otters hold hands.',
        'user: What did I ask?',
      ])
      // The run's own output holds the whole conversation, as without a session.
      expect(result.output.messages).toHaveLength(6)
    })
  }

  it('keep.lastTurns: the request holds the last turns only', async () => {
    const runner = runnerOn(new MemoryActivityStore())
    const { model, player } = fake.play(scenario().text('one').text('two').text('three'))
    const session = { id: 'trim', keep: { lastTurns: 1 } }
    for (const text of ['first', 'second', 'third']) await runner.run({ model }, text, { session })
    expect(conversationOf(player.calls[2]?.request, 'chat')).toEqual([
      'user: second',
      'assistant: two',
      'user: third',
    ])
  })

  it('a run of another tenant sends none of the session', async () => {
    const runner = runnerOn(new MemoryActivityStore())
    const { model, player } = fake.play(scenario().text('noted').text('no idea'))
    await runner.run({ model }, 'The code is 1234', { session: { id: 'shared-id', tenant: 'acme' } })
    await runner.run({ model }, 'What is the code?', { session: { id: 'shared-id', tenant: 'globex' } })
    expect(conversationOf(player.calls[1]?.request, 'chat')).toEqual(['user: What is the code?'])
  })

  it('a SQLite file keeps the session for a new store (another process)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-openai-sessions-'))
    try {
      const file = path.join(dir, 'runs.db')
      const { model, player } = fake.play(scenario().text('Noted.').text('42.'))
      const session = { id: 'kept' }
      const first = new SqliteActivityStore(file)
      await runnerOn(first).run({ model, api: 'responses' }, 'Remember 42', { session })
      await first.close()
      const second = new SqliteActivityStore(file)
      try {
        await runnerOn(second).run({ model, api: 'responses' }, 'Which number?', { session })
      } finally {
        await second.close()
      }
      expect(conversationOf(player.calls[1]?.request, 'responses')).toEqual([
        'user: Remember 42',
        'assistant: Noted.',
        'user: Which number?',
      ])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
