import { execFile, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { RunnerError } from '../errors/runner-error.js'
import { rejectionOf } from '../test/index.js'
import { SqliteActivityStore, SqliteStoreError } from './index.js'
import { useTempDatabases } from './test-helpers/temp-database.js'

const worker = fileURLToPath(new URL('./test-helpers/fault-worker.ts', import.meta.url))
const root = process.getuid?.() === 0

interface Step {
  step: string
  value?: unknown
  error?: { name: string; message: string; reason?: string; path?: string; errcode?: number }
}

/**
 * Runs the fault worker on `file` (by default as `nobody` when this process is root), started
 * through `command` if given (`prlimit ...`), and returns its steps by name.
 */
function runWorker(file: string, command: string[] = [], ...args: string[]): Promise<Record<string, Step>> {
  const [program, ...prefix] = [...command, process.execPath]
  return new Promise((resolve, reject) => {
    execFile(program!, [...prefix, worker, file, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`fault worker failed: ${error.message}\n${stderr}`))
        return
      }
      const steps: Record<string, Step> = {}
      for (const line of stdout.split('\n').filter(Boolean)) {
        const step = JSON.parse(line) as Step
        steps[step.step] = step
      }
      resolve(steps)
    })
  })
}

/** The error `work` throws (fails the test if it throws none). */
function thrownBy(work: () => unknown): unknown {
  try {
    work()
  } catch (error) {
    return error
  }
  throw new Error('expected an error, none was thrown')
}

/** A store file with one activity, `a1`, closed (no `-wal` or `-shm` file left beside it). */
async function storeWithOneActivity(file: string): Promise<void> {
  const store = new SqliteActivityStore(file)
  await store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
  await store.close()
}

function agentIds(file: string): string[] {
  const db = new DatabaseSync(file, { readOnly: true })
  try {
    return db
      .prepare('SELECT agent_id FROM activities ORDER BY seq')
      .all()
      .map((row) => row.agent_id as string)
  } finally {
    db.close()
  }
}

/** Whether this process may mount a tmpfs (root with the capability; not in most containers). */
function canMount(): boolean {
  if (process.platform !== 'linux' || !root) return false
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-mount-probe-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' })
    execFileSync('umount', [probe], { stdio: 'ignore' })
    return true
  } catch {
    return false
  } finally {
    fs.rmSync(probe, { recursive: true, force: true })
  }
}

const mountable = canMount()

/** Whether `prlimit` (util-linux) is there to start a process with a file-size limit. */
const hasPrlimit = (() => {
  if (process.platform !== 'linux') return false
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()
const mounts: string[] = []

afterEach(() => {
  for (const mount of mounts.splice(0)) {
    execFileSync('umount', [mount])
    fs.rmSync(mount, { recursive: true, force: true })
  }
})

// Registered after the unmount above: runs before it (hooks run in reverse order), so the stores
// on a tmpfs are closed before it is unmounted.
const { tempDatabase, open, raw } = useTempDatabases()

/** A directory on a new tmpfs of `size` (unmounted after the test). */
function tmpfs(size: string): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-tmpfs-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', directory])
  mounts.push(directory)
  return directory
}

describe('SqliteActivityStore errors of the file', () => {
  describe('read-only', () => {
    it('a file the process may not write (in a directory it may): opens and reads, and a write fails with SqliteStoreError read-only naming the file, writing nothing', async () => {
      const file = tempDatabase()
      await storeWithOneActivity(file)
      // The directory is writable (SQLite creates the -wal and -shm files there), the file is not.
      fs.chmodSync(path.dirname(file), 0o777)
      fs.chmodSync(file, 0o444)
      const steps = await runWorker(file)
      expect(steps.open).toEqual({ step: 'open', value: null })
      expect((steps.get?.value as { agentId?: string } | undefined)?.agentId).toBe('a1')
      expect(steps.create?.error).toMatchObject({
        name: 'SqliteStoreError',
        reason: 'read-only',
        path: file,
        errcode: 8,
      })
      expect(steps.create?.error?.message).toContain(`"${file}"`)
      expect(steps.create?.error?.message).toContain('may not write the file')
      expect(steps.create?.error?.message).toContain('Reads keep working')
      expect(
        (steps.list?.value as { total?: number } | undefined)?.total,
        'reads work after the refused write',
      ).toBe(1)
      expect(agentIds(file)).toEqual(['a1'])
    })

    it('a directory the process may not write: the store cannot even read (no -wal and -shm), and says so, naming the directory', async () => {
      const file = tempDatabase()
      await storeWithOneActivity(file)
      const directory = path.dirname(file)
      if (root) {
        // The file is the worker's own (writable); the directory stays root's (0755).
        fs.chownSync(file, 65534, 65534)
        fs.chmodSync(directory, 0o755)
      } else {
        fs.chmodSync(directory, 0o555)
      }
      try {
        const steps = await runWorker(file)
        expect(steps.open?.error).toMatchObject({
          name: 'SqliteStoreError',
          reason: 'read-only',
          path: file,
          errcode: 1544, // SQLITE_READONLY_DIRECTORY
        })
        const message = steps.open?.error?.message ?? ''
        expect(message).toContain(`"${file}"`)
        expect(message).toContain(`may not write its directory "${directory}"`)
        expect(message).toContain('activities.db-wal')
        expect(message).toContain('cannot read it either')
        expect(steps.get, 'nothing ran after the failed open').toBeUndefined()
      } finally {
        fs.chmodSync(directory, 0o755)
      }
      expect(agentIds(file)).toEqual(['a1'])
    })

    it.skipIf(!mountable)(
      'a read-only file system (a tmpfs remounted read-only; root too is refused): SqliteStoreError read-only saying so',
      async () => {
        const directory = tmpfs('4m')
        const file = path.join(directory, 'activities.db')
        await storeWithOneActivity(file)
        execFileSync('mount', ['-o', 'remount,ro', directory])
        const error = thrownBy(() => new SqliteActivityStore(file))
        expect(SqliteStoreError.isInstance(error)).toBe(true)
        expect(error).toMatchObject({ reason: 'read-only', path: file, errcode: 14 })
        expect((error as Error).message).toContain(`"${file}"`)
        expect((error as Error).message).toContain('the file system holding it is mounted read-only')
        expect((error as Error).message).toContain('cannot read it either')
        expect((error as Error).cause).toMatchObject({ errcode: 14 })
      },
    )
  })

  it.skipIf(!mountable)(
    'a full disk (a small tmpfs filled up): a write fails with SqliteStoreError disk-full naming the file, nothing of it is written, reads keep working, and writes work again once space is freed',
    async () => {
      const directory = tmpfs('4m')
      const file = path.join(directory, 'activities.db')
      const store = open(file)
      await store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
      // Fill the file system: the next write of the store has nowhere to go.
      const filler = path.join(directory, 'filler')
      const fd = fs.openSync(filler, 'w')
      try {
        for (const size of [65536, 512, 1]) {
          try {
            while (true) fs.writeSync(fd, Buffer.alloc(size, 1))
          } catch (error) {
            expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC')
          }
        }
      } finally {
        fs.closeSync(fd)
      }
      const large = 'x'.repeat(300_000)
      for (const write of [
        () => store.create({ agentId: 'b1', agentType: 'test', message: large }),
        () => store.append('a1', { status: 'running', message: large }),
        () => store.documents.put('notes', 'n1', { text: large }),
      ]) {
        const error = await rejectionOf(write())
        expect(SqliteStoreError.isInstance(error)).toBe(true)
        expect(error).toMatchObject({ reason: 'disk-full', path: file, errcode: 13 })
        expect((error as Error).message).toContain(`"${file}"`)
        expect((error as Error).message).toContain('the disk holding it is full')
      }
      // Concurrent writes share one transaction: all fail together, with the same error.
      const concurrent = await Promise.allSettled(
        ['c1', 'c2', 'c3'].map((agentId) => store.create({ agentId, agentType: 'test', message: large })),
      )
      for (const outcome of concurrent) {
        expect(outcome.status).toBe('rejected')
        expect((outcome as PromiseRejectedResult).reason).toMatchObject({ reason: 'disk-full' })
      }
      // Reads keep working, and nothing of the refused writes is there.
      expect((await store.get('a1'))?.status).toBe('queued')
      expect((await store.list()).items.map((item) => item.agentId)).toEqual(['a1'])
      expect(await store.documents.get('notes', 'n1')).toBeUndefined()

      fs.rmSync(filler)
      await store.create({ agentId: 'b1', agentType: 'test', message: large })
      await store.append('a1', { status: 'running', message: 'Started' })
      const other = open(file)
      expect((await other.list()).items.map((item) => [item.agentId, item.status])).toEqual([
        ['b1', 'queued'],
        ['a1', 'running'],
      ])
      expect(raw(file).prepare('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' })
    },
  )

  it.skipIf(!hasPrlimit)(
    'a write past the file-size limit (prlimit --fsize, EFBIG): SqliteStoreError io-error naming the file, nothing of it written, and the store goes on reading and writing',
    async () => {
      const file = tempDatabase()
      await storeWithOneActivity(file)
      // The write-ahead log may not grow past 200,000 bytes: a 300,000-byte message cannot fit.
      const steps = await runWorker(file, ['prlimit', '--fsize=200000'], 'self', '300000')
      expect(steps.open).toEqual({ step: 'open', value: null })
      // SQLite reports a write refused with EFBIG as an I/O error (SQLITE_IOERR_WRITE), not SQLITE_FULL.
      expect(steps.create?.error).toMatchObject({
        name: 'SqliteStoreError',
        reason: 'io-error',
        path: file,
        errcode: 778,
      })
      expect(steps.create?.error?.message).toContain(`"${file}"`)
      expect(steps.create?.error?.message).toContain('Nothing of this write was saved')
      expect(steps.createSmall?.value, 'a write that fits still works').toMatchObject({ agentId: 'b2' })
      expect(
        (steps.list?.value as { items: { agentId: string }[] } | undefined)?.items.map(
          (item) => item.agentId,
        ),
      ).toEqual(['b2', 'a1'])
      expect(agentIds(file)).toEqual(['a1', 'b2'])
    },
  )

  it('locked beyond busyTimeoutMs (another connection holds BEGIN IMMEDIATE): SqliteStoreError locked naming the file; reads go on; writes work once the lock is released', async () => {
    const file = tempDatabase()
    const store = open({ path: file, busyTimeoutMs: 50 })
    await store.create({ agentId: 'a1', agentType: 'test', message: 'Waiting' })
    const other = raw(file)
    other.exec('BEGIN IMMEDIATE')
    try {
      const error = await rejectionOf(store.append('a1', { status: 'running', message: 'Started' }))
      expect(SqliteStoreError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({ reason: 'locked', path: file, errcode: 5 })
      expect((error as Error).message).toContain(`"${file}"`)
      expect((error as Error).message).toContain('busyTimeoutMs (50 ms)')
      expect((await store.get('a1'))?.status, 'a read does not wait for the writer').toBe('queued')
    } finally {
      other.exec('ROLLBACK')
    }
    expect((await store.append('a1', { status: 'running', message: 'Started' })).status).toBe('running')
  })

  it('a text file at the path: SqliteStoreError not-a-database, the file left as it was', () => {
    const file = tempDatabase()
    fs.writeFileSync(file, 'these are my notes, not a database\n'.repeat(200))
    const error = thrownBy(() => new SqliteActivityStore(file))
    expect(SqliteStoreError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ reason: 'not-a-database', path: file, errcode: 26 })
    expect((error as Error).message).toContain(`"${file}"`)
    expect((error as Error).message).toContain('is not an SQLite database')
    expect((error as Error).message).not.toContain('created by')
    expect(fs.readFileSync(file, 'utf8')).toBe('these are my notes, not a database\n'.repeat(200))
  })

  describe('corrupt', () => {
    /** A store file of 50 activities, closed, with `page` (1-based) overwritten by garbage from `from` bytes in. */
    async function corrupted(page: (db: DatabaseSync) => number, from = 0): Promise<string> {
      const file = tempDatabase()
      const store = new SqliteActivityStore(file)
      for (let i = 0; i < 50; i++) {
        await store.create({ agentId: `a${i}`, agentType: 'test', message: 'x'.repeat(200) })
      }
      await store.close()
      const db = new DatabaseSync(file)
      const pageNumber = page(db)
      db.close()
      const fd = fs.openSync(file, 'r+')
      fs.writeSync(fd, Buffer.alloc(4096 - from, 0xa5), 0, 4096 - from, (pageNumber - 1) * 4096 + from)
      fs.closeSync(fd)
      return file
    }

    it('the schema page damaged: opening fails with SqliteStoreError corrupt naming the file', async () => {
      // Page 1 past its 100-byte header: the schema table.
      const file = await corrupted(() => 1, 100)
      const error = thrownBy(() => new SqliteActivityStore(file))
      expect(SqliteStoreError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({ reason: 'corrupt', path: file, errcode: 11 })
      expect((error as Error).message).toContain(`"${file}"`)
      expect((error as Error).message).toContain('contents are damaged')
    })

    it('a table page damaged: the store opens, and a read of it fails with SqliteStoreError corrupt', async () => {
      const file = await corrupted(
        (db) =>
          db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'activities'").get()!
            .rootpage as number,
      )
      const store = open(file)
      const error = await rejectionOf(store.get('a3'))
      expect(SqliteStoreError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({ reason: 'corrupt', path: file, errcode: 11 })
      expect((error as Error).message).toContain(`"${file}"`)
    })
  })

  it('an SQLite database of another program whose tables clash: a RunnerError that says so (not a SqliteStoreError)', () => {
    const file = tempDatabase()
    const db = new DatabaseSync(file)
    db.exec('CREATE TABLE activities (id INTEGER PRIMARY KEY, title TEXT)')
    db.close()
    const error = thrownBy(() => new SqliteActivityStore(file))
    expect(RunnerError.isInstance(error)).toBe(true)
    expect(SqliteStoreError.isInstance(error)).toBe(false)
    expect((error as Error).message).toContain(`"${file}"`)
    expect((error as Error).message).toContain(
      'The file is an SQLite database, but its tables are not those of SqliteActivityStore',
    )
  })

  it('a missing directory: SqliteStoreError cannot-open saying the directory does not exist', () => {
    const file = path.join(path.dirname(tempDatabase()), 'missing', 'activities.db')
    const error = thrownBy(() => new SqliteActivityStore(file))
    expect(SqliteStoreError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ reason: 'cannot-open', path: file, errcode: 14 })
    expect((error as Error).message).toContain(`its directory "${path.dirname(file)}" does not exist`)
  })
})
