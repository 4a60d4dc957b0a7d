import type { StatementSync } from 'node:sqlite'

/**
 * What the parts of a `SqliteActivityStore` kept in files of their own (its job queue, its
 * document table) use of its connection: one statement cache and one way to run transactions.
 */
export interface SqliteAccess {
  /** A prepared statement for `sql` (cached); throws the store's RunnerError once it is closed. */
  statement(sql: string): StatementSync
  /**
   * Runs `work` (reads) in one read transaction and returns its value; an error of the file
   * (corrupt, locked, read-only...) comes out as a `SqliteStoreError` naming it.
   */
  read<T>(work: () => T): T
  /**
   * Runs `work` in a `BEGIN IMMEDIATE` transaction (the write lock is taken before it reads),
   * shared with the writes of concurrent callers, each in a savepoint of its own; resolves with
   * its value once the transaction has committed, or rejects with its error (nothing of it written).
   */
  write<T>(work: () => T): Promise<T>
  /** The store's `maxRecordBytes`. */
  readonly maxRecordBytes: number
}
