// One process's question through a response cache on a SQLite file:
// node ask-once.mjs <openai baseURL> <database file> <model> <api key>
// Prints { text, stats } as JSON.
import { createResponseCache } from '@runner/cache'
import { sqliteCacheStore } from '@runner/cache/sqlite'
import OpenAI from 'openai'

const [baseURL, path, model, apiKey] = process.argv.slice(2)
const cache = createResponseCache({ store: sqliteCacheStore({ path }) })
const client = new OpenAI({ apiKey, baseURL, fetch: cache.fetch(), maxRetries: 0 })
const completion = await client.chat.completions.create({
  model,
  temperature: 0,
  messages: [{ role: 'user', content: 'What is my key?' }],
})
await cache.close()
process.stdout.write(JSON.stringify({ text: completion.choices[0]?.message.content, stats: cache.stats }))
