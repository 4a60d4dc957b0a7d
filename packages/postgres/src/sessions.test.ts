import { BaseAgentRunner, type ExecuteResult, type RunContext } from '@runner/core'
import { deleteSession, readSession, type SessionCodec } from '@runner/core/adapter'
import type { JsonValue } from '@runner/core/store'
import { describe, expect, it } from 'vitest'
import { databaseUrl } from './test-helpers/database.js'
import { useStores } from './test-helpers/stores.js'

// Sessions (`RunOptions.session`) kept in PostgresActivityStore's document table.

const { open } = useStores('sessions')

interface Message {
  role: 'user' | 'assistant'
  content: string
}

/** A runner whose "model" answers `echo: <last message>`, keeping the conversations it was given. */
class EchoRunner extends BaseAgentRunner<object, string, Message[]> {
  readonly seen: string[][] = []

  protected override async execute(
    _context: RunContext,
    _agent: object,
    input: string,
  ): Promise<ExecuteResult<Message[]>> {
    const messages = input as unknown as Message[]
    this.seen.push(messages.map((message) => message.content))
    const answer = `echo: ${messages.at(-1)?.content}`
    return { output: [...messages, { role: 'assistant', content: answer }], text: answer }
  }

  protected override get sessions(): SessionCodec<string, Message[]> {
    return {
      continueFrom: (history, input) => [...history, { role: 'user', content: input }],
      conversation: (_input, output) => output as unknown as JsonValue[],
    }
  }
}

describe.skipIf(!databaseUrl)('sessions on PostgresActivityStore (DATABASE_URL)', { timeout: 60_000 }, () => {
  it('a second run, through another store on the schema, sees the first; another tenant sees nothing', async () => {
    const first = open()
    const session = { id: 'chat-ü', tenant: 'acme ünïcode', keep: { lastTurns: 2 } }
    const before = new EchoRunner({ activity: first })
    await before.run({}, 'hello', { session })
    const after = new EchoRunner({ activity: open({ schema: first.schema }) })
    await after.run({}, 'again', { session })
    expect(after.seen[0]).toEqual(['hello', 'echo: hello', 'again'])
    await after.run({}, 'secret?', { session: { id: 'chat-ü', tenant: 'globex' } })
    expect(after.seen[1]).toEqual(['secret?'])
    await after.run({}, 'third', { session })
    await after.run({}, 'fourth', { session })
    expect(after.seen[3]).toEqual(['again', 'echo: again', 'third', 'echo: third', 'fourth'])
    expect(await readSession(first, session)).toHaveLength(6)
    expect(await deleteSession(first, session)).toBe(3)
    expect(await readSession(first, { id: 'chat-ü', tenant: 'globex' })).toHaveLength(2)
  })
})
