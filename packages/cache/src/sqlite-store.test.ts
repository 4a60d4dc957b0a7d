import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createResponseCache } from './response-cache.js'
import { sqliteCacheStore } from './sqlite-store.js'

const run = promisify(execFile)
const directory = mkdtempSync(join(tmpdir(), 'runner-cache-sqlite-'))
afterAll(() => rmSync(directory, { recursive: true, force: true }))

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(async () => {
  await fake.close()
})

// Not shaped like a known key (no `sk-`): only redaction by the request's own credential removes it.
const apiKey = 'cache-test-credential-7f3a9c2e'

/** Asks once in a child process of its own, through a cache on `file`. */
async function askInChild(file: string, model: string, baseURL = fake.openaiBaseURL) {
  const script = new URL('./test-helpers/ask-once.mjs', import.meta.url)
  const { stdout } = await run(process.execPath, [script.pathname, baseURL, file, model, apiKey], {
    cwd: new URL('..', import.meta.url).pathname,
    timeout: 60_000,
  })
  return JSON.parse(stdout) as { text: string; stats: { hits: number; misses: number; stored: number } }
}

/** Every byte of a SQLite database: its file and its WAL and shared-memory files, if any. */
function databaseBytes(file: string): Buffer {
  const name = file.split('/').at(-1) ?? ''
  const dir = join(file, '..')
  return Buffer.concat(
    readdirSync(dir)
      .filter((entry) => entry.startsWith(name))
      .map((entry) => readFileSync(join(dir, entry))),
  )
}

describe('sqliteCacheStore', () => {
  it('an answer stored by one process is replayed by another, and the file holds no API key', async () => {
    const file = join(directory, 'shared', 'models.db')
    // The answer itself repeats the key: the stored copy has it redacted.
    const { model } = fake.play(scenario().text(`Your key is ${apiKey}.`), { model: 'sqlite-shared' })

    const writer = await askInChild(file, model)
    expect(writer.text).toBe(`Your key is ${apiKey}.`)
    expect(writer.stats).toMatchObject({ hits: 0, misses: 1, stored: 1 })

    const reader = await askInChild(file, model)
    expect(reader.stats).toMatchObject({ hits: 1, misses: 0 })
    expect(reader.text).toBe('Your key is [REDACTED].')
    expect(fake.requestsFor(model)).toHaveLength(1)

    // And a new instance in this process, on a fake at another address.
    await using other = await startProtocolFake()
    const cache = createResponseCache({ store: sqliteCacheStore({ path: file }) })
    const client = new OpenAI({ apiKey, baseURL: other.openaiBaseURL, fetch: cache.fetch(), maxRetries: 0 })
    const completion = await client.chat.completions.create({
      model,
      temperature: 0,
      messages: [{ role: 'user', content: 'What is my key?' }],
    })
    expect(completion.choices[0]?.message.content).toBe('Your key is [REDACTED].')
    expect(other.requests).toHaveLength(0)
    await cache.close()

    const bytes = databaseBytes(file)
    expect(bytes.includes('[REDACTED]')).toBe(true)
    expect(bytes.includes(apiKey)).toBe(false)
  }, 120_000)

  it('an expired entry is never replayed', async () => {
    const file = join(directory, 'ttl.db')
    const store = sqliteCacheStore({ path: file })
    const cache = createResponseCache({ store, ttlMs: 300 })
    const { model } = fake.play(scenario().text('First.').text('Second.'), { model: 'sqlite-ttl' })
    const client = new OpenAI({ apiKey, baseURL: fake.openaiBaseURL, fetch: cache.fetch(), maxRetries: 0 })
    const ask = async () =>
      (
        await client.chat.completions.create({
          model,
          temperature: 0,
          messages: [{ role: 'user', content: 'Hello?' }],
        })
      ).choices[0]?.message.content
    expect(await ask()).toBe('First.')
    await sleep(800)
    expect(await ask()).toBe('Second.')
    expect(fake.requestsFor(model)).toHaveLength(2)
    await cache.clear()
    expect(await store.get('anything')).toBeUndefined()
    await cache.close()
  })
})
