import type { StatementSync } from 'node:sqlite'

/**
 * What the parts of a `SqliteActivityStore` kept in files of their own (its job queue, its
 * document table) use of its connection: one statement cache and one way to run transactions.
 */
export interface SqliteAccess {
  /** A prepared statement for `sql` (cached); throws the store's RunnerError once it is closed. */
  statement(sql: string): StatementSync
  /** Runs `work` in one `BEGIN IMMEDIATE` transaction: the write lock is taken before it reads. */
  write<T>(work: () => T): T
  /** The store's `maxRecordBytes`. */
  readonly maxRecordBytes: number
}
