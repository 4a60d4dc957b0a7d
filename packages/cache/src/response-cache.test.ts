import { setTimeout as sleep } from 'node:timers/promises'
import { InvalidOptionsError } from '@runner/core'
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import OpenAI from 'openai'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CACHE_HEADER } from './cache-entry.js'
import { memoryCacheStore } from './memory-store.js'
import { createResponseCache } from './response-cache.js'
import type { ResponseCacheStore } from './store.js'

// The cache's fetch under the real OpenAI SDK, over HTTP to the test kit's OpenAI fake.

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(async () => {
  await fake.close()
})

function clientWith(fetch: typeof globalThis.fetch, baseURL = fake.openaiBaseURL): OpenAI {
  return new OpenAI({ apiKey: 'test-key-0123', baseURL, fetch, maxRetries: 0, logLevel: 'off' })
}

const ask = (client: OpenAI, model: string, extra: Record<string, unknown> = {}) =>
  client.chat.completions.create({
    model,
    temperature: 0,
    messages: [{ role: 'user', content: 'Do otters hold hands?' }],
    ...extra,
  })

describe('createResponseCache: keys', () => {
  it('the same request in another key order and to another host is a hit; other settings or messages are not', async () => {
    const cache = createResponseCache()
    const { model } = fake.play(scenario().text('Yes.').text('Warmer.').text('Other.'), { model: 'keys' })
    const client = clientWith(cache.fetch())
    expect((await ask(client, model)).choices[0]?.message.content).toBe('Yes.')

    // Same body, keys in another order, sent to another fake (another host and port): a hit.
    await using other = await startProtocolFake()
    const reordered = await cache.fetch()(`${other.openaiBaseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer another-key-456' },
      body: JSON.stringify({
        messages: [{ content: 'Do otters hold hands?', role: 'user' }],
        temperature: 0,
        model,
        user: 'someone-else',
      }),
    })
    expect(reordered.headers.get(CACHE_HEADER)).toBe('hit')
    expect(
      ((await reordered.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message
        .content,
    ).toBe('Yes.')
    expect(other.requests).toHaveLength(0)

    // A change of setting or message is another request.
    expect((await ask(client, model, { seed: 7 })).choices[0]?.message.content).toBe('Warmer.')
    const changed = await client.chat.completions.create({
      model,
      temperature: 0,
      messages: [{ role: 'user', content: 'Do otters hold paws?' }],
    })
    expect(changed.choices[0]?.message.content).toBe('Other.')
    expect(fake.requestsFor(model)).toHaveLength(3)
    expect(cache.stats).toEqual({ hits: 1, misses: 3, stored: 3, skipped: 0 })
  })

  it('namespace separates entries; a custom key decides what identifies a request', async () => {
    const store = memoryCacheStore()
    const { model } = fake.play(scenario().text('A.').text('B.'), { model: 'namespaces' })
    const first = createResponseCache({ store, namespace: 'v1' })
    const second = createResponseCache({ store, namespace: 'v2' })
    expect((await ask(clientWith(first.fetch()), model)).choices[0]?.message.content).toBe('A.')
    expect((await ask(clientWith(second.fetch()), model)).choices[0]?.message.content).toBe('B.')
    expect((await ask(clientWith(first.fetch()), model)).choices[0]?.message.content).toBe('A.')

    // Keyed on the model only: any prompt to it replays the stored answer.
    const byModel = createResponseCache({ store, key: (request) => request.body.model })
    const { model: keyed } = fake.play(scenario().text('Only answer.'), { model: 'keyed' })
    expect((await ask(clientWith(byModel.fetch()), keyed)).choices[0]?.message.content).toBe('Only answer.')
    const again = await clientWith(byModel.fetch()).chat.completions.create({
      model: keyed,
      temperature: 0,
      messages: [{ role: 'user', content: 'Something else entirely.' }],
    })
    expect(again.choices[0]?.message.content).toBe('Only answer.')
    expect(fake.requestsFor(keyed)).toHaveLength(1)
  })
})

describe('createResponseCache: time to live', () => {
  it('an entry is replayed within ttlMs and fetched again after it', async () => {
    const cache = createResponseCache({ ttlMs: 300 })
    const { model } = fake.play(scenario().text('First.').text('Second.'), { model: 'ttl' })
    const client = clientWith(cache.fetch())
    expect((await ask(client, model)).choices[0]?.message.content).toBe('First.')
    // Generous margins either way: well inside, then well past the time to live.
    const lasting = createResponseCache({ ttlMs: 60_000 })
    const { model: kept } = fake.play(scenario().text('Kept.'), { model: 'ttl-kept' })
    await ask(clientWith(lasting.fetch()), kept)
    await sleep(800)
    expect((await ask(client, model)).choices[0]?.message.content).toBe('Second.')
    expect(fake.requestsFor(model)).toHaveLength(2)
    expect((await ask(clientWith(lasting.fetch()), kept)).choices[0]?.message.content).toBe('Kept.')
    expect(fake.requestsFor(kept)).toHaveLength(1)
  })
})

describe('createResponseCache: what passes through', () => {
  it('n > 1 and sampling without a seed pass through; temperature 0, top_k 1 or a seed are cached', async () => {
    const cache = createResponseCache()
    const { model } = fake.play(scenario().text('1').text('2').text('3').text('4').text('5'), {
      model: 'determinism',
    })
    const client = clientWith(cache.fetch())
    const messages = [{ role: 'user' as const, content: 'Pick.' }]
    await client.chat.completions.create({ model, messages })
    await client.chat.completions.create({ model, messages })
    await client.chat.completions.create({ model, messages, temperature: 0, n: 2 })
    await client.chat.completions.create({ model, messages, temperature: 0.7, seed: 3 })
    await client.chat.completions.create({ model, messages, temperature: 0.7, seed: 3 })
    expect(fake.requestsFor(model)).toHaveLength(4)
    expect(cache.stats).toEqual({ hits: 1, misses: 1, stored: 1, skipped: 3 })
  })

  it('errors are never stored: a 500 is fetched again', async () => {
    const cache = createResponseCache()
    const { model } = fake.play(scenario().error(500).text('Recovered.'), { model: 'errors' })
    const client = clientWith(cache.fetch())
    await expect(ask(client, model)).rejects.toThrow()
    expect((await ask(client, model)).choices[0]?.message.content).toBe('Recovered.')
    expect(fake.requestsFor(model)).toHaveLength(2)
  })

  it('a store that fails never fails the call: it goes uncached and onError hears of it', async () => {
    const errors: unknown[] = []
    const broken: ResponseCacheStore = {
      get: async () => {
        throw new Error('store down')
      },
      set: async () => {
        throw new Error('store down')
      },
      delete: async () => {},
      clear: async () => {},
      close: async () => {},
    }
    const cache = createResponseCache({ store: broken, onError: (error) => errors.push(error) })
    const { model } = fake.play(scenario().text('Live.').text('Live again.'), { model: 'broken-store' })
    const client = clientWith(cache.fetch())
    expect((await ask(client, model)).choices[0]?.message.content).toBe('Live.')
    expect((await ask(client, model)).choices[0]?.message.content).toBe('Live again.')
    expect(errors.map((error) => (error as Error).message)).toEqual([
      'store down',
      'store down',
      'store down',
      'store down',
    ])
  })

  it('a streamed answer replays as a stream of the same chunks', async () => {
    const cache = createResponseCache()
    const { model } = fake.play(scenario().text('Otters hold hands while they sleep.'), { model: 'stream' })
    const client = clientWith(cache.fetch())
    const collect = async () => {
      const stream = await client.chat.completions.create({
        model,
        temperature: 0,
        messages: [{ role: 'user', content: 'Do otters hold hands?' }],
        stream: true,
        stream_options: { include_usage: true },
      })
      const chunks: unknown[] = []
      for await (const chunk of stream) chunks.push(chunk)
      return chunks
    }
    const live = await collect()
    const replayed = await collect()
    expect(live.length).toBeGreaterThan(2)
    expect(replayed).toEqual(live)
    expect(fake.requestsFor(model)).toHaveLength(1)
  })
})

describe('createResponseCache: aborted reads', () => {
  it('a stream the reader stopped in the middle is not stored: the same request goes out again', async () => {
    await using slow = await startProtocolFake({ frameDelayMs: 30 })
    const cache = createResponseCache()
    const { model } = slow.play(
      scenario()
        .text('Otters hold hands while they sleep, so that they do not drift apart in the water.')
        .text('Whole.'),
      { model: 'aborted' },
    )
    const client = clientWith(cache.fetch(), slow.openaiBaseURL)
    const controller = new AbortController()
    const stream = await client.chat.completions.create(
      { model, temperature: 0, messages: [{ role: 'user', content: 'Hello?' }], stream: true },
      { signal: controller.signal },
    )
    // The SDK ends a raw stream's iteration quietly when its signal aborts.
    let chunks = 0
    for await (const _ of stream) if (++chunks === 2) controller.abort()
    expect(chunks).toBeLessThan(10)
    expect(cache.stats).toMatchObject({ misses: 1, stored: 0 })
    const again = await client.chat.completions.create({
      model,
      temperature: 0,
      messages: [{ role: 'user', content: 'Hello?' }],
      stream: true,
    })
    let text = ''
    for await (const chunk of again) text += chunk.choices[0]?.delta.content ?? ''
    expect(text).toBe('Whole.')
    expect(slow.requestsFor(model)).toHaveLength(2)
    expect(cache.stats).toMatchObject({ misses: 2, stored: 1 })
  })
})

describe('createResponseCache: options', () => {
  it('bad options throw InvalidOptionsError naming the field', () => {
    const caught = (make: () => unknown) => {
      try {
        make()
      } catch (error) {
        return error
      }
      throw new Error('expected a throw')
    }
    const error = caught(() => createResponseCache({ ttlMs: -1 }))
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect((error as InvalidOptionsError).field).toBe('ttlMs')
    expect((caught(() => createResponseCache({ store: {} as never })) as InvalidOptionsError).field).toBe(
      'store',
    )
    expect((caught(() => createResponseCache({ tll: 5 } as never)) as InvalidOptionsError).field).toBe('tll')
    expect((caught(() => memoryCacheStore({ maxEntries: 0 })) as InvalidOptionsError).field).toBe(
      'maxEntries',
    )
  })
})
