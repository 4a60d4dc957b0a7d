import type { ConnectionOptions } from 'bullmq'
import { Redis, type RedisOptions } from 'ioredis'
import { isRedisInstance } from './options.js'
import type { BullMQConnection } from './types.js'

/** The connection as BullMQ takes it: a URL becomes `{ url }`; options and instances pass as they are. */
export function toBullMQConnection(connection: BullMQConnection): ConnectionOptions {
  if (typeof connection === 'string') return { url: connection }
  return connection as ConnectionOptions
}

/**
 * A new ioredis connection owned by the engine (pub/sub and the engine's own commands), made from
 * the same settings: a duplicate of an instance, or a new client from a URL or options.
 */
export function createRedis(connection: BullMQConnection, connectionName: string): Redis {
  if (isRedisInstance(connection)) return connection.duplicate({ connectionName })
  if (typeof connection === 'string') return new Redis(connection, { connectionName })
  const { url, ...options } = connection as RedisOptions & { url?: string }
  return url === undefined
    ? new Redis({ ...options, connectionName })
    : new Redis(url, { ...options, connectionName })
}
