import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createActivityTracker } from '../activity/tracker.js'
import { SqliteActivityStore } from '../sqlite/sqlite-store.js'
import { waitForStatus } from '../test/wait-for-activity.js'
import { createPool } from './create-pool.js'
import { localEngine } from './local-engine.js'

const fixture = fileURLToPath(new URL('./test-helpers/durable-pool-process.ts', import.meta.url))
const scratch: string[] = []

afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tempDatabase(): string {
  const dir = mkdtempSync(join(tmpdir(), 'runner-durable-engine-'))
  scratch.push(dir)
  return join(dir, 'pool.db')
}

interface Child {
  process: ChildProcess
  exited: Promise<NodeJS.Signals | number | null>
  output: () => string
}

function start(file: string, mode: string): Child {
  const child = spawn(process.execPath, [fixture, file, mode], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (chunk) => {
    output += String(chunk)
  })
  child.stderr?.on('data', (chunk) => {
    output += String(chunk)
  })
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  )
  return { process: child, exited, output: () => output }
}

async function until(child: Child, text: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (!child.output().includes(text)) {
    if (Date.now() > deadline) throw new Error(`no "${text}" within ${ms} ms; output: ${child.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Execution {
  key: string
  pid: number
  at: number
}

function executionsOf(file: string): Execution[] {
  const db = new DatabaseSync(file, { readOnly: true, timeout: 5000 })
  try {
    return db.prepare('SELECT key, pid, at FROM executions ORDER BY at').all() as unknown as Execution[]
  } finally {
    db.close()
  }
}

describe('localEngine on a SQLite store (durable queue)', () => {
  it('keeps queued tasks across restarts and resumes orphaned runs: 5 SIGKILLs, every task completes, every completed tool ran once', async () => {
    const file = tempDatabase()
    const tasks = 20
    const killed = new Set<number>()
    const first = start(file, `enqueue:${tasks}`)
    await until(first, 'enqueued', 20_000)
    let current = first
    for (let round = 0; round < 5; round++) {
      // Each kill lands mid-work: once this process has run tools of its own, at a random instant.
      const ranBefore = executionsOf(file).length
      const deadline = Date.now() + 20_000
      while (executionsOf(file).length === ranBefore) {
        if (Date.now() > deadline) throw new Error(`no tool ran in round ${round}: ${current.output()}`)
        await sleep(10)
      }
      await sleep(Math.floor(Math.random() * 150))
      if (current.process.pid !== undefined) killed.add(current.process.pid)
      current.process.kill('SIGKILL')
      expect(await current.exited, `the process was killed, not ended: ${current.output()}`).toBe('SIGKILL')
      current = start(file, 'work')
    }
    const last = await Promise.race([current.exited, sleep(60_000).then(() => 'timeout' as const)])
    expect(last, current.output()).toBe(0)

    const store = new SqliteActivityStore({ path: file })
    try {
      for (let index = 0; index < tasks; index++) {
        const agentId = `task-${index}`
        const activity = await store.get(agentId)
        expect(activity?.status, `${agentId}: ${activity?.message}`).toBe('complete')
        expect((await store.getRun(agentId))?.result).toEqual({ value: `done: task ${index}` })
      }
      const executions = executionsOf(file)
      const byKey = new Map<string, Execution[]>()
      for (const execution of executions)
        byKey.set(execution.key, [...(byKey.get(execution.key) ?? []), execution])
      // Every tool call of every task ran...
      expect(byKey.size).toBe(tasks * 6)
      // ...once, except in the one window no journal closes: a process killed after the side
      // effect and before the journal write. Every earlier copy of a repeated call comes from a
      // process that was killed.
      const repeated = [...byKey.values()].filter((runs) => runs.length > 1)
      for (const runs of repeated) for (const run of runs.slice(0, -1)) expect(killed.has(run.pid)).toBe(true)
      // At most the calls in flight at each kill (3 tasks x 2 parallel calls).
      expect(repeated.length).toBeLessThanOrEqual(killed.size * 6)
      console.info(
        `durable local engine: ${tasks} tasks, ${killed.size} SIGKILLs, ${executions.length} tool executions for ${byKey.size} calls, ${repeated.length} repeated in the kill window`,
      )
    } finally {
      await store.close()
    }
  }, 120_000)

  it('two processes on one file never run the same task twice', async () => {
    const file = tempDatabase()
    const a = start(file, 'enqueue:10')
    await until(a, 'enqueued', 20_000)
    const b = start(file, 'work')
    const results = await Promise.all([a.exited, b.exited])
    expect(results, a.output() + b.output()).toEqual([0, 0])
    const executions = executionsOf(file)
    const keys = executions.map((execution) => execution.key)
    expect(new Set(keys).size).toBe(keys.length)
    expect(keys).toHaveLength(60)
  }, 60_000)

  it('close() leaves queued tasks in the store for the next pool, which runs them', async () => {
    const file = tempDatabase()
    const store = new SqliteActivityStore({ path: file })
    const activity = createActivityTracker({ store })
    const first = createPool({ activity, engine: localEngine({ pollMs: 20 }), concurrency: 1 })
    const gate = Promise.withResolvers<void>()
    first.task('echo', { input: z.number() }, async ({ input }) => {
      await gate.promise
      return input
    })
    const ids = []
    for (const value of [1, 2, 3]) ids.push((await first.enqueue('echo', value)).agentId)
    await waitForStatus(activity, ids[0]!, 'running')
    gate.resolve()
    await first.close({ timeoutMs: 5000 })
    expect((await store.get(ids[0]!))?.status).toBe('complete')
    expect((await store.get(ids[2]!))?.status).toBe('queued')

    const second = createPool({ activity, engine: localEngine({ pollMs: 20 }), concurrency: 2 })
    second.task('echo', { input: z.number() }, async ({ input }) => input * 10)
    await expect(second.result(ids[2]!, { timeoutMs: 5000 })).resolves.toBe(30)
    await expect(second.result(ids[0]!)).resolves.toBe(1)
    await second.close()
    await store.close()
  })
})
