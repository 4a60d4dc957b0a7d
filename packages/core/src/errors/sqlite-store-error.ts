import { hasMarker, RunnerError, type RunnerErrorOptions } from './runner-error.js'

const marker = Symbol.for('runner.error.SqliteStoreError')

/**
 * What went wrong with the file of a `SqliteActivityStore`:
 *
 * - `read-only`: the process may not write the file, its directory (where SQLite creates the
 *   `-wal` and `-shm` files) or the file system it is on;
 * - `disk-full`: the disk (or file system) holding it has no space left;
 * - `locked`: another connection held the write lock for longer than `busyTimeoutMs`;
 * - `not-a-database`: the file is not an SQLite database;
 * - `corrupt`: it is an SQLite database whose contents are damaged;
 * - `cannot-open`: SQLite cannot open the file (a missing directory, a directory at the path);
 * - `io-error`: the operating system failed a read or a write (a failing disk, a file-size limit).
 */
export type SqliteStoreErrorReason =
  | 'read-only'
  | 'disk-full'
  | 'locked'
  | 'not-a-database'
  | 'corrupt'
  | 'cannot-open'
  | 'io-error'

/** Options of `SqliteStoreError`. */
export interface SqliteStoreErrorOptions extends RunnerErrorOptions {
  /** SQLite's extended result code (`errcode` of the `node:sqlite` error), when SQLite gave one. */
  errcode?: number
}

/**
 * The file of a `SqliteActivityStore` could not be opened, read or written, for a reason of the
 * file itself rather than of the call (see `reason`). The message names the file and what to do;
 * `cause` is the `node:sqlite` error. A write that fails with it wrote nothing.
 */
export class SqliteStoreError extends RunnerError {
  readonly [marker] = true
  readonly reason: SqliteStoreErrorReason
  /** The database file, as given to the store. */
  readonly path: string
  /** SQLite's extended result code (for example 13 for `SQLITE_FULL`, 1544 for `SQLITE_READONLY_DIRECTORY`). */
  readonly errcode: number | undefined

  constructor(
    reason: SqliteStoreErrorReason,
    path: string,
    message: string,
    options: SqliteStoreErrorOptions = {},
  ) {
    super(message, options)
    this.name = 'SqliteStoreError'
    this.reason = reason
    this.path = path
    this.errcode = options.errcode
  }

  static override isInstance(value: unknown): value is SqliteStoreError {
    return hasMarker(value, marker)
  }
}
