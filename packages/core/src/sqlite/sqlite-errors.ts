import fs from 'node:fs'
import path from 'node:path'
import { SqliteStoreError } from '../errors/sqlite-store-error.js'
import { errorMessage } from '../util/error-message.js'

/** When an error happened: opening the store (its constructor), a read, or a write. */
export type SqliteStage = 'open' | 'read' | 'write'

/** The names of the SQLite primary result codes a store's file can raise. */
const CODE_NAMES: Readonly<Record<number, string>> = {
  5: 'SQLITE_BUSY',
  8: 'SQLITE_READONLY',
  10: 'SQLITE_IOERR',
  11: 'SQLITE_CORRUPT',
  13: 'SQLITE_FULL',
  14: 'SQLITE_CANTOPEN',
  26: 'SQLITE_NOTADB',
}

/** The extended code `SQLITE_READONLY_DIRECTORY`: the directory of the file is not writable. */
const READONLY_DIRECTORY = 1544

/**
 * The `SqliteStoreError` for a `node:sqlite` error that comes from the file (read-only, full,
 * locked, not a database, corrupt, cannot be opened, failing I/O), naming `file` and what to do;
 * `undefined` for any other error (a constraint, an SQL error), which the caller passes on as is.
 */
export function sqliteStoreError(
  error: unknown,
  file: string,
  stage: SqliteStage,
  busyTimeoutMs: number,
): SqliteStoreError | undefined {
  const errcode = (error as { errcode?: unknown } | null)?.errcode
  const text = errorMessage(error)
  let code = typeof errcode === 'number' ? errcode & 0xff : undefined
  // A lock timeout raised as text only (no code): still a lock timeout.
  if (code === undefined && /database is locked/.test(text)) code = 5
  if (code === undefined) return undefined
  const options = { cause: error, errcode: typeof errcode === 'number' ? errcode : undefined }
  const sqlite = `${CODE_NAMES[code]}${typeof errcode === 'number' && errcode !== code ? `, extended code ${errcode}` : ''}: ${text}`
  const subject = `the SQLite activity database "${file}"`
  const verb = stage === 'open' ? 'open' : stage === 'read' ? 'read' : 'write to'
  switch (code) {
    case 5:
      return new SqliteStoreError(
        'locked',
        file,
        `Cannot ${verb} ${subject}: it stayed locked by another connection for more than busyTimeoutMs (${busyTimeoutMs} ms) (${sqlite}).${stage === 'write' ? ' Nothing was written.' : ''} Raise busyTimeoutMs, or find the process holding a long transaction on the file.`,
        options,
      )
    case 13:
      return new SqliteStoreError(
        'disk-full',
        file,
        stage === 'open'
          ? `Cannot open ${subject}: the disk holding it is full (${sqlite}). Free space on it, then open the store again.`
          : `Cannot ${verb} ${subject}: the disk holding it is full (${sqlite}). Nothing of this write was saved; reads keep working, and writes work again once space is freed on that disk.`,
        options,
      )
    case 26:
      return new SqliteStoreError(
        'not-a-database',
        file,
        `Cannot ${verb} ${subject}: the file is not an SQLite database (${sqlite}). Give the store another path (it creates a new database where no file exists), or move this file away.`,
        options,
      )
    case 11:
      return new SqliteStoreError(
        'corrupt',
        file,
        `Cannot ${verb} ${subject}: the file is an SQLite database whose contents are damaged (${sqlite}). Restore it from a backup, or salvage its rows into a new file with the sqlite3 shell (sqlite3 "${file}" .recover).`,
        options,
      )
    case 8:
    case 14: {
      const place = unwritablePlace(file, typeof errcode === 'number' && errcode === READONLY_DIRECTORY)
      if (place) return readOnlyError(file, place, stage, sqlite, options)
      if (code === 8)
        return readOnlyError(
          file,
          {
            why: 'SQLite opened it read-only',
            fix: 'make the file and its directory writable by this process',
          },
          stage,
          sqlite,
          options,
        )
      return new SqliteStoreError(
        'cannot-open',
        file,
        `Cannot ${verb} ${subject}: ${cannotOpenWhy(file)} (${sqlite}).`,
        options,
      )
    }
    case 10:
      return new SqliteStoreError(
        'io-error',
        file,
        `Cannot ${verb} ${subject}: the operating system failed a read or a write of it (${sqlite}).${stage === 'write' ? ' Nothing of this write was saved.' : ''} Check the disk, and the largest file size this process may write (ulimit -f).`,
        options,
      )
    default:
      return undefined
  }
}

/** Where a read-only file is stuck, and how to make it writable. */
interface Place {
  why: string
  fix: string
  /** True when the store cannot read the file either (SQLite cannot create its `-wal` and `-shm` files). */
  blocksReads?: boolean
}

function readOnlyError(
  file: string,
  place: Place,
  stage: SqliteStage,
  sqlite: string,
  options: { cause: unknown; errcode: number | undefined },
): SqliteStoreError {
  const base = path.basename(file)
  const subject = `the SQLite activity database "${file}"`
  let advice: string
  if (stage === 'write') {
    advice = `Nothing was written. Reads keep working; to write, ${place.fix}.`
  } else if (place.blocksReads) {
    advice = `SqliteActivityStore cannot read it either: SQLite must create "${base}-wal" and "${base}-shm" beside a database in WAL mode to read it. ${capitalized(place.fix)}, or copy the file (with its "${base}-wal" file, if there is one) to a writable directory and open the copy.`
  } else if (stage === 'read') {
    advice = `${capitalized(place.fix)}.`
  } else {
    advice = `Opening it writes to it (to create, upgrade or switch its tables to WAL mode): ${place.fix}, or copy the file to a writable directory and open the copy.`
  }
  return new SqliteStoreError(
    'read-only',
    file,
    `Cannot ${stage === 'open' ? 'open' : stage === 'read' ? 'read' : 'write to'} ${subject}: ${place.why} (${sqlite}). ${advice}`,
    options,
  )
}

/**
 * What keeps this process from writing `file`: the file system, the file, its directory or a
 * `-wal`/`-shm` file beside it (`access(2)`, which reports a read-only file system to every user
 * and a missing permission to any but root); `undefined` when nothing does.
 */
function unwritablePlace(file: string, directoryFirst: boolean): Place | undefined {
  if (file === ':memory:' || file === '') return undefined
  const directory = path.dirname(path.resolve(file))
  const who = typeof process.getuid === 'function' ? `this process (uid ${process.getuid()})` : 'this process'
  const fileSystem: Place = {
    why: 'the file system holding it is mounted read-only',
    fix: 'mount that file system read-write',
    blocksReads: true,
  }
  const inDirectory: Place = {
    why: `${who} may not write its directory "${directory}", where SQLite creates the "-wal" and "-shm" files of the database`,
    fix: 'give this process write access to that directory',
    blocksReads: true,
  }
  const checks: [string, () => Place][] = [
    [
      file,
      () => ({ why: `${who} may not write the file`, fix: 'give this process write access to the file' }),
    ],
    ...['-wal', '-shm'].map((suffix): [string, () => Place] => [
      `${file}${suffix}`,
      () => ({
        why: `${who} may not write "${file}${suffix}", which SQLite keeps beside the database`,
        fix: `give this process write access to "${file}${suffix}"`,
      }),
    ]),
  ]
  // Where the -wal and -shm files exist, SQLite writes them, not the directory: checked first,
  // unless SQLite said the directory is the problem.
  if (directoryFirst) checks.unshift([directory, () => inDirectory])
  else checks.push([directory, () => inDirectory])
  for (const [target, place] of checks) {
    const problem = writeProblem(target)
    if (problem === 'EROFS') return fileSystem
    if (problem === 'EACCES' || problem === 'EPERM') return place()
  }
  return directoryFirst ? inDirectory : undefined
}

/** The error code `access(target, W_OK)` fails with, or `undefined` (writable, or absent). */
function writeProblem(target: string): string | undefined {
  try {
    fs.accessSync(target, fs.constants.W_OK)
    return undefined
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return code === 'ENOENT' ? undefined : code
  }
}

/** Why SQLite cannot open `file`, when nothing is read-only. */
function cannotOpenWhy(file: string): string {
  const directory = path.dirname(path.resolve(file))
  if (!fs.existsSync(directory)) return `its directory "${directory}" does not exist; create it first`
  try {
    if (fs.statSync(file).isDirectory()) return 'the path is a directory; give the path of a file'
  } catch {
    // Absent: SQLite would have created it.
  }
  return `SQLite cannot open the file; check that its directory "${directory}" exists and that this process may read and write the file and the directory`
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}
