import { HumanMessage } from '@langchain/core/messages'
import { emptyCheckpoint, uuid6 } from '@langchain/langgraph-checkpoint'
import { deltaChannelHistoryTests, specTest } from '@langchain/langgraph-checkpoint-validation'
import { type ActivityStore, InvalidOptionsError, MemoryActivityStore } from '@runner/core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { RunnerCheckpointSaver } from './index.js'
import { storesUnderTest } from './test-helpers/stores.js'

// LangGraph's validation suite (`@langchain/langgraph-checkpoint-validation`) is written for
// vitest's globals (its own CLI runs vitest with `globals: true`): it gets this run's functions.
Object.assign(globalThis, { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach })

for (const candidate of storesUnderTest()) {
  const title = `RunnerCheckpointSaver on ${candidate.name}: LangGraph's checkpointer validation${candidate.skip ? ` (skipped: ${candidate.skip})` : ''}`
  describe.skipIf(candidate.skip !== undefined)(title, () => {
    let store: ActivityStore
    let count = 0
    const initializer = {
      checkpointerName: `RunnerCheckpointSaver (${candidate.name})`,
      beforeAll: () => {
        store = candidate.open()
      },
      afterAll: () => candidate.close(store),
      // A namespace per checkpointer: the suite's cases never see each other's threads.
      createCheckpointer: () => new RunnerCheckpointSaver(store, { namespace: `validation-${++count}` }),
      destroyCheckpointer: async (saver: RunnerCheckpointSaver) => {
        await saver.documents.deletePrefix(saver.namespace, '')
      },
    }
    specTest(initializer)
    // Opt-in in LangGraph's suite: the parent-chain walk that rebuilds delta channels.
    deltaChannelHistoryTests(initializer)
  })
}

describe('RunnerCheckpointSaver', () => {
  it('refuses a store without a document table, naming the argument', () => {
    const bare = { ...new MemoryActivityStore(), documents: undefined } as unknown as ActivityStore
    const error = (() => {
      try {
        new RunnerCheckpointSaver(bare)
      } catch (caught) {
        return caught
      }
    })()
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect((error as InvalidOptionsError).field).toBe('store')
  })

  it('keeps thread ids, namespaces and channel names with the separator apart', async () => {
    const saver = new RunnerCheckpointSaver(new MemoryActivityStore())
    const put = (thread: string, ns: string, value: string) => {
      const checkpoint = { ...emptyCheckpoint(), id: uuid6(-1), channel_values: { 'a|b': value } }
      checkpoint.channel_versions = { 'a|b': 1 }
      return saver.put(
        { configurable: { thread_id: thread, checkpoint_ns: ns } },
        checkpoint,
        { source: 'input', step: -1, parents: {} },
        { 'a|b': 1 },
      )
    }
    await put('a|b', '', 'first')
    await put('a', 'b|', 'second')
    const first = await saver.getTuple({ configurable: { thread_id: 'a|b' } })
    const second = await saver.getTuple({ configurable: { thread_id: 'a', checkpoint_ns: 'b|' } })
    expect(first?.checkpoint.channel_values).toEqual({ 'a|b': 'first' })
    expect(second?.checkpoint.channel_values).toEqual({ 'a|b': 'second' })
    expect(await saver.getTuple({ configurable: { thread_id: 'a' } })).toBeUndefined()
    await saver.deleteThread('a')
    expect(await saver.getTuple({ configurable: { thread_id: 'a|b' } })).toBeDefined()
  })

  it('stores values as the serializer’s bytes in base64 inside JSON documents', async () => {
    const store = new MemoryActivityStore()
    const saver = new RunnerCheckpointSaver(store)
    const checkpoint = {
      ...emptyCheckpoint(),
      channel_values: { messages: [new HumanMessage('hi')] },
      channel_versions: { messages: 1 },
    }
    const config = await saver.put(
      { configurable: { thread_id: 't' } },
      checkpoint,
      { source: 'input', step: -1, parents: {} },
      { messages: 1 },
    )
    const documents = await store.documents.list('langgraph')
    expect(documents.map((document) => document.key)).toEqual([
      'b|t||messages|1',
      `c|t||${config.configurable?.checkpoint_id}`,
    ])
    expect(documents[0]?.value).toEqual({ t: 'json', d: expect.any(String) })
    // LangChain's serializable objects come back as themselves.
    const tuple = await saver.getTuple(config)
    const [message] = (tuple?.checkpoint.channel_values.messages ?? []) as unknown[]
    expect(message).toBeInstanceOf(HumanMessage)
    expect((message as HumanMessage).content).toBe('hi')
  })
})
