import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import { Redis } from 'ioredis'
import OpenAI from 'openai'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { redisCacheStore } from './redis-store.js'
import { createResponseCache } from './response-cache.js'

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
// Not shaped like a known key: only redaction by the request's own credential removes it.
const apiKey = 'redis-test-credential-4b8e1d0a'

let fake: ProtocolFake
let clients: Redis[] = []
let prefix: string
beforeEach(async () => {
  fake = await startProtocolFake()
  prefix = `runner-test:cache:${randomUUID()}:`
})
afterEach(async () => {
  await fake.close()
  const [client] = clients
  if (client) await redisCacheStore({ client, prefix }).clear()
  await Promise.all(clients.map((client) => client.quit()))
  clients = []
})

function connect(): Redis {
  const client = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 })
  clients.push(client)
  return client
}

async function ask(
  cache: ReturnType<typeof createResponseCache>,
  model: string,
): Promise<string | null | undefined> {
  const client = new OpenAI({ apiKey, baseURL: fake.openaiBaseURL, fetch: cache.fetch(), maxRetries: 0 })
  const completion = await client.chat.completions.create({
    model,
    temperature: 0,
    messages: [{ role: 'user', content: 'What is my key?' }],
  })
  return completion.choices[0]?.message.content
}

describe('redisCacheStore', () => {
  it('two caches on two connections share entries; Redis expires them; no API key in the values', async () => {
    const { model } = fake.play(scenario().text(`Your key is ${apiKey}.`).text('Later.'), { model: 'redis' })
    const first = createResponseCache({
      store: redisCacheStore({ client: connect(), prefix }),
      ttlMs: 60_000,
    })
    const second = createResponseCache({
      store: redisCacheStore({ client: connect(), prefix }),
      ttlMs: 60_000,
    })
    expect(await ask(first, model)).toBe(`Your key is ${apiKey}.`)
    expect(await ask(second, model)).toBe('Your key is [REDACTED].')
    expect(fake.requestsFor(model)).toHaveLength(1)
    expect(second.stats).toMatchObject({ hits: 1, misses: 0 })

    const inspector = connect()
    const keys = await inspector.keys(`${prefix}*`)
    expect(keys).toHaveLength(1)
    const [key] = keys as [string]
    expect(key).toMatch(new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[0-9a-f]{64}$`))
    const value = (await inspector.get(key)) ?? ''
    expect(value).toContain('[REDACTED]')
    expect(value).not.toContain(apiKey)
    const ttl = await inspector.pttl(key)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(60_000)
  })

  it('an entry past its ttlMs is gone from Redis and fetched again', async () => {
    const { model } = fake.play(scenario().text('First.').text('Second.'), { model: 'redis-ttl' })
    const cache = createResponseCache({ store: redisCacheStore({ client: connect(), prefix }), ttlMs: 300 })
    expect(await ask(cache, model)).toBe('First.')
    await sleep(800)
    expect(await connect().keys(`${prefix}*`)).toEqual([])
    expect(await ask(cache, model)).toBe('Second.')
    expect(fake.requestsFor(model)).toHaveLength(2)
  })

  it('clear removes the keys under its prefix only', async () => {
    const client = connect()
    const other = `${prefix}other:`
    await redisCacheStore({ client, prefix: other }).set('b', 'kept', 60_000)
    const store = redisCacheStore({ client, prefix: `${prefix}mine:` })
    for (let index = 0; index < 1200; index++) await store.set(`k${index}`, 'v', 60_000)
    await store.clear()
    expect(await client.keys(`${prefix}mine:*`)).toEqual([])
    expect(await client.get(`${other}b`)).toBe('kept')
  })
})
