import { randomUUID } from 'node:crypto'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'

/** Redis for the integration tests (CI sets it); unset: those tests skip with a notice. */
export const redisUrl = process.env.REDIS_URL || undefined
/** PostgreSQL for the multi-process tests (CI sets it); unset: those tests skip with a notice. */
export const databaseUrl = process.env.DATABASE_URL || undefined

/** Prints once per file why its tests are skipped, so a skip is never silent. */
export function noticeUnless(available: boolean, what: string): void {
  if (!available) console.warn(`[@runner/bullmq tests] ${what} is not set: these tests are skipped.`)
}

/** A queue name and key prefix of its own for one test, so tests never share Redis keys. */
export function uniqueQueue(label: string): { queueName: string; prefix: string } {
  const id = randomUUID().slice(0, 8)
  return { queueName: `${label}-${id}`, prefix: `runner-test-${id}` }
}

/** Deletes everything of a test queue: BullMQ's obliterate, then any key left under its prefix. */
export async function removeQueue(url: string, queueName: string, prefix: string): Promise<void> {
  const queue = new Queue(queueName, { connection: { url }, prefix })
  try {
    await queue.obliterate({ force: true })
  } finally {
    await queue.close()
  }
  const redis = new Redis(url)
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500)
      cursor = next
      if (keys.length > 0) await redis.del(...keys)
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}

/** Resolves once `predicate` holds, checking every `intervalMs`; fails after `timeoutMs` with `what`. */
export async function eventually<T>(
  probe: () => Promise<T> | T,
  predicate: (value: T) => boolean,
  what: string,
  { timeoutMs = 10_000, intervalMs = 25 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: T
  for (;;) {
    last = await probe()
    if (predicate(last)) return last
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
