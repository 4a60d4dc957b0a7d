import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryActivityStore } from '../activity/memory-store.js'
import type { ActivityStore, JsonValue } from '../activity/types.js'
import { CapabilityUnsupportedError } from '../errors/capability-unsupported-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { BaseAgentRunner } from '../runner/base-agent-runner.js'
import type { ExecuteResult, RunContext } from '../runner/types.js'
import { SqliteActivityStore } from '../sqlite/index.js'
import { rejectionOf } from '../test/rejection-of.js'
import { deleteSession, readSession, SESSION_NAMESPACE, type SessionCodec } from './sessions.js'

/** A chat message of the echo runner's own framework. */
interface Message {
  role: 'user' | 'assistant'
  content: string
}

interface EchoOutput {
  messages: Message[]
}

/**
 * A runner whose "model" answers each user message with `echo: <text>` (or fails on `fail`), and
 * keeps the conversations it was given, to show what a run saw.
 */
class EchoRunner extends BaseAgentRunner<object, string | Message[], EchoOutput> {
  readonly seen: Message[][] = []
  /** Awaited before each answer: lets a test hold runs in flight. */
  gate: (() => Promise<void>) | undefined

  protected override async execute(
    context: RunContext,
    _agent: object,
    input: string | Message[],
  ): Promise<ExecuteResult<EchoOutput>> {
    const messages: Message[] = typeof input === 'string' ? [{ role: 'user', content: input }] : [...input]
    this.seen.push(messages)
    context.startTurn()
    const last = messages.at(-1)?.content ?? ''
    await this.gate?.()
    if (last === 'fail') throw new Error('the model failed')
    const answer = `echo: ${last}`
    return { output: { messages: [...messages, { role: 'assistant', content: answer }] }, text: answer }
  }

  protected override get sessions(): SessionCodec<string | Message[], EchoOutput> {
    return {
      continueFrom: (history, input) => [
        ...(history as unknown as Message[]),
        ...(typeof input === 'string' ? [{ role: 'user' as const, content: input }] : input),
      ],
      conversation: (_input, output) => output.messages as unknown as JsonValue[],
    }
  }
}

/** The same runner without session support (the base class default). */
class PlainRunner extends BaseAgentRunner<object, string, string> {
  protected override async execute(): Promise<ExecuteResult<string>> {
    return { output: 'done', text: 'done' }
  }
}

const agent = {}
const texts = (messages: Message[] | undefined) => (messages ?? []).map((message) => message.content)

describe('sessions', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
  })

  it("a session's second run sees the first run's input and answer before its own", async () => {
    const runner = new EchoRunner({ activity: new MemoryActivityStore() })
    await runner.run(agent, 'hello', { session: { id: 's1' } })
    await runner.run(agent, 'again', { session: { id: 's1' } })
    expect(texts(runner.seen[1])).toEqual(['hello', 'echo: hello', 'again'])
    expect(await readSession(runner.activity.store, { id: 's1' })).toEqual([
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: 'echo: hello' },
      { role: 'user', content: 'again' },
      { role: 'assistant', content: 'echo: again' },
    ])
  })

  it('a run of another tenant, or of none, never sees the session', async () => {
    const runner = new EchoRunner({ activity: new MemoryActivityStore() })
    await runner.run(agent, 'secret of acme', { session: { id: 'chat', tenant: 'acme' } })
    await runner.run(agent, 'from globex', { session: { id: 'chat', tenant: 'globex' } })
    await runner.run(agent, 'from nobody', { session: { id: 'chat' } })
    // A tenant whose encoded name could run into another's prefix.
    await runner.run(agent, 'from a/b', { session: { id: 'c', tenant: 'a/b' } })
    await runner.run(agent, 'from a', { session: { id: 'b/c', tenant: 'a' } })
    expect(texts(runner.seen[1])).toEqual(['from globex'])
    expect(texts(runner.seen[2])).toEqual(['from nobody'])
    expect(texts(runner.seen[4])).toEqual(['from a'])
    await runner.run(agent, 'acme again', { session: { id: 'chat', tenant: 'acme' } })
    expect(texts(runner.seen[5])).toEqual(['secret of acme', 'echo: secret of acme', 'acme again'])
  })

  it('keep.lastTurns: a run sees the last turns only, and the older ones are deleted', async () => {
    const runner = new EchoRunner({ activity: new MemoryActivityStore() })
    const session = { id: 'short', keep: { lastTurns: 2 } }
    for (const text of ['one', 'two', 'three']) await runner.run(agent, text, { session })
    await runner.run(agent, 'four', { session })
    expect(texts(runner.seen[3])).toEqual(['two', 'echo: two', 'three', 'echo: three', 'four'])
    expect(texts((await readSession(runner.activity.store, session)) as unknown as Message[])).toEqual([
      'two',
      'echo: two',
      'three',
      'echo: three',
      'four',
      'echo: four',
    ])
  })

  it('summarize replaces the turns older than keep.lastTurns by its messages, stored for later runs', async () => {
    const runner = new EchoRunner({ activity: new MemoryActivityStore() })
    const calls: Array<{ messages: JsonValue[]; turns: number }> = []
    const session = {
      id: 'long',
      tenant: 'acme',
      keep: { lastTurns: 1 },
      summarize: (messages: JsonValue[], info: { turns: number }) => {
        calls.push({ messages, turns: info.turns })
        const said = (messages as unknown as Message[]).map((message) => message.content).join(' | ')
        return [{ role: 'user', content: `summary: ${said}` }] as unknown as JsonValue[]
      },
    }
    for (const text of ['one', 'two', 'three', 'four']) await runner.run(agent, text, { session })
    // Before the third run: turn one summarized; before the fourth: the summary and turn two.
    expect(calls.map((call) => call.turns)).toEqual([1, 2])
    expect(texts(runner.seen[2])).toEqual(['summary: one | echo: one', 'two', 'echo: two', 'three'])
    expect(texts(runner.seen[3])).toEqual([
      'summary: summary: one | echo: one | two | echo: two',
      'three',
      'echo: three',
      'four',
    ])
    const stored = await runner.activity.store.documents?.list(SESSION_NAMESPACE)
    // The summary, then turns three and four (the fourth run appended after the summary was written).
    expect(stored).toHaveLength(3)
  })

  it('two concurrent runs each see the session as it was when they started; both turns are appended', async () => {
    const runner = new EchoRunner({ activity: new MemoryActivityStore() })
    const session = { id: 'busy' }
    await runner.run(agent, 'first', { session })
    const release = Promise.withResolvers<void>()
    let waiting = 0
    const bothStarted = Promise.withResolvers<void>()
    runner.gate = async () => {
      if (++waiting === 2) bothStarted.resolve()
      await release.promise
    }
    const left = runner.run(agent, 'left', { session })
    const right = runner.run(agent, 'right', { session })
    await bothStarted.promise
    release.resolve()
    await Promise.all([left, right])
    runner.gate = undefined
    expect(texts(runner.seen[1])).toEqual(['first', 'echo: first', 'left'])
    expect(texts(runner.seen[2])).toEqual(['first', 'echo: first', 'right'])
    await runner.run(agent, 'after', { session })
    const seen = texts(runner.seen[3])
    expect(seen.slice(0, 2)).toEqual(['first', 'echo: first'])
    expect(seen.slice(2, 6).sort()).toEqual(['echo: left', 'echo: right', 'left', 'right'])
    expect(seen.at(-1)).toBe('after')
  })

  it('a failed run appends nothing', async () => {
    const runner = new EchoRunner({ activity: new MemoryActivityStore() })
    await runner.run(agent, 'hello', { session: { id: 's' } })
    await expect(runner.run(agent, 'fail', { session: { id: 's' } })).rejects.toThrow('the model failed')
    await runner.run(agent, 'again', { session: { id: 's' } })
    expect(texts(runner.seen[2])).toEqual(['hello', 'echo: hello', 'again'])
  })

  it('a SQLite store keeps the session for a new store instance on the same file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-sessions-'))
    dirs.push(dir)
    const file = path.join(dir, 'runs.db')
    const first = new SqliteActivityStore(file)
    await new EchoRunner({ activity: first }).run(agent, 'remember 42', {
      session: { id: 'kept', tenant: 't1' },
    })
    await first.close()
    const second = new SqliteActivityStore(file)
    try {
      const runner = new EchoRunner({ activity: second })
      await runner.run(agent, 'what number?', { session: { id: 'kept', tenant: 't1' } })
      expect(texts(runner.seen[0])).toEqual(['remember 42', 'echo: remember 42', 'what number?'])
      expect(await deleteSession(second, { id: 'kept', tenant: 't1' })).toBe(2)
      expect(await readSession(second, { id: 'kept', tenant: 't1' })).toEqual([])
    } finally {
      await second.close()
    }
  })

  it('refuses a bad session naming the field, before anything starts', async () => {
    const store = new MemoryActivityStore()
    const runner = new EchoRunner({ activity: store })
    const cases: Array<[unknown, string]> = [
      ['s1', 'session'],
      [{}, 'session.id'],
      [{ id: '' }, 'session.id'],
      [{ id: 's', tenant: 7 }, 'session.tenant'],
      [{ id: 's', keep: { lastTurns: 0 } }, 'session.keep.lastTurns'],
      [{ id: 's', keep: { last: 2 } }, 'session.keep.last'],
      [{ id: 's', summarize: () => [] }, 'session.summarize'],
      [{ id: 's', ttl: 5 }, 'session.ttl'],
      [{ id: 'é'.repeat(80) }, 'session.id'],
    ]
    for (const [session, field] of cases) {
      const error = await rejectionOf(runner.run(agent, 'hi', { session } as never))
      expect(InvalidOptionsError.isInstance(error), field).toBe(true)
      expect((error as InvalidOptionsError).issues.map((issue) => issue.field)).toEqual([field])
    }
    expect((await store.list()).total).toBe(0)
  })

  it('refuses a session on a runner without session support, and on a store without documents', async () => {
    const unsupported = await rejectionOf(
      new PlainRunner({ activity: new MemoryActivityStore() }).run(agent, 'hi', { session: { id: 's' } }),
    )
    expect(CapabilityUnsupportedError.isInstance(unsupported)).toBe(true)
    expect((unsupported as CapabilityUnsupportedError).capability).toBe('session')

    class StoreWithoutDocuments extends MemoryActivityStore {
      override readonly documents = undefined as never
    }
    const bare: ActivityStore = new StoreWithoutDocuments()
    const noDocuments = await rejectionOf(
      new EchoRunner({ activity: bare }).run(agent, 'hi', { session: { id: 's' } }),
    )
    expect(CapabilityUnsupportedError.isInstance(noDocuments)).toBe(true)
    expect((noDocuments as CapabilityUnsupportedError).capability).toBe('session')
    expect((noDocuments as Error).message).toContain('keeps no documents')
  })
})
