/** ioredis connection options from a `redis://` / `rediss://` URL (what BullMQ's `connection` takes). */
export interface RedisOptions {
  host: string
  port: number
  username?: string
  password?: string
  db?: number
  tls?: Record<string, never>
  /** BullMQ workers need blocking commands without a retry limit. */
  maxRetriesPerRequest: null
}

export function redisOptions(redisUrl: string): RedisOptions {
  const url = new URL(redisUrl)
  const db = Number(url.pathname.replace('/', ''))
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(Number.isInteger(db) && db > 0 ? { db } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  }
}
