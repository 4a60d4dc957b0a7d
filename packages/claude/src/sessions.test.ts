import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { MessageParam } from '@anthropic-ai/sdk/resources/messages'
import { type ActivityStore, defineTool, MemoryActivityStore } from '@runner/core'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { type ProtocolFake, type RecordedRequest, runIn, scenario, startProtocolFake } from '@runner/testkit'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ClaudeRunner } from './claude-runner.js'
import { clientFor } from './test-helpers/harness.js'

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(() => fake.close())

function runnerOn(store: ActivityStore): ClaudeRunner {
  return new ClaudeRunner({
    client: clientFor(fake.anthropicBaseURL),
    activity: store,
    retry: { attempts: 1 },
  })
}

const search = defineTool({
  name: 'search',
  description: 'Searches.',
  inputSchema: z.object({ query: z.string() }),
  execute: ({ query }) => `results for ${query}`,
})

/** What a request sent, in order: `user: ...`, `assistant: ...`, `call: name`, `result: ...`. */
function conversationOf(request: unknown): string[] {
  const messages = (request as RecordedRequest).body.messages as MessageParam[]
  return messages.flatMap((message): string[] => {
    if (typeof message.content === 'string') return [`${message.role}: ${message.content}`]
    return message.content.flatMap((block): string[] => {
      if (block.type === 'text') return [`${message.role}: ${block.text}`]
      if (block.type === 'tool_use') return [`call: ${block.name}`]
      if (block.type === 'tool_result') {
        const content = block.content
        const text =
          typeof content === 'string'
            ? content
            : (content ?? []).map((part) => ('text' in part ? part.text : '')).join('')
        return [`result: ${text}`]
      }
      return []
    })
  })
}

describe('sessions', () => {
  for (const streamed of [false, true]) {
    it(`${streamed ? 'runStreamed' : 'run'}: a session's second run sends the first run's input, tool calls and answer before its own`, async () => {
      const runner = runnerOn(new MemoryActivityStore())
      const { model, player } = fake.play(
        scenario()
          .toolCall('search', { query: 'otters' })
          .text('Otters hold hands.')
          .text('You asked about otters.'),
      )
      const agent = { model, maxTokens: 1024, tools: [search] }
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
  }

  it('keep.lastTurns: the request holds the last turns only', async () => {
    const runner = runnerOn(new MemoryActivityStore())
    const { model, player } = fake.play(scenario().text('one').text('two').text('three'))
    const session = { id: 'trim', keep: { lastTurns: 1 } }
    for (const text of ['first', 'second', 'third'])
      await runner.run({ model, maxTokens: 256 }, text, { session })
    expect(conversationOf(player.calls[2]?.request)).toEqual([
      'user: second',
      'assistant: two',
      'user: third',
    ])
  })

  it('a run of another tenant sends none of the session', async () => {
    const runner = runnerOn(new MemoryActivityStore())
    const { model, player } = fake.play(scenario().text('noted').text('no idea'))
    const agent = { model, maxTokens: 256 }
    await runner.run(agent, 'The code is 1234', { session: { id: 'shared-id', tenant: 'acme' } })
    await runner.run(agent, 'What is the code?', { session: { id: 'shared-id', tenant: 'globex' } })
    expect(conversationOf(player.calls[1]?.request)).toEqual(['user: What is the code?'])
  })

  it('a SQLite file keeps the session for a new store (another process)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-claude-sessions-'))
    try {
      const file = path.join(dir, 'runs.db')
      const { model, player } = fake.play(scenario().text('Noted.').text('42.'))
      const agent = { model, maxTokens: 256 }
      const first = new SqliteActivityStore(file)
      await runnerOn(first).run(agent, 'Remember 42', { session: { id: 'kept' } })
      await first.close()
      const second = new SqliteActivityStore(file)
      try {
        await runnerOn(second).run(agent, 'Which number?', { session: { id: 'kept' } })
      } finally {
        await second.close()
      }
      expect(conversationOf(player.calls[1]?.request)).toEqual([
        'user: Remember 42',
        'assistant: Noted.',
        'user: Which number?',
      ])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
