import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { afterAll, describe, expect, it } from 'vitest'

const main = fileURLToPath(new URL('./main.ts', import.meta.url))
const topics = ['sea otters', 'the Voyager probes', 'sourdough starters', 'the Rosetta Stone']
const scratch = mkdtempSync(join(tmpdir(), 'runner-quickstart-test-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/**
 * The scripted protocol fake, whatever the machine has set: no key, no network. The OS temp
 * directory (where the default database goes) is a scratch one, so that a demo stopped earlier on
 * this machine is not resumed by the test.
 */
function demoEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const temp = join(scratch, 'tmp')
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: temp, TMP: temp, TEMP: temp, ...extra }
  delete env.OPENAI_API_KEY
  delete env.OPENAI_BASE_URL
  if (!extra.QUICKSTART_DB) delete env.QUICKSTART_DB
  return env
}

/** The answer lines, in topic order. */
function answers(out: string): string[] {
  return out.split('\n').filter((line) => /^[✔✘] /.test(line))
}

/** An uninterrupted run's answers, made once. */
let uninterrupted: string[] | undefined

describe('examples/quickstart (smoke test)', () => {
  it('runs four research tasks to completion and prints the log of one', () => {
    const env = demoEnv({ QUICKSTART_THINK_MS: '5' })
    const child = spawnSync(process.execPath, [main], { encoding: 'utf8', env, timeout: 60_000 })
    expect(child.stderr).not.toMatch(/Error/)
    expect(child.status).toBe(0)
    const out = child.stdout
    const database = join(scratch, 'tmp', 'runner-quickstart', 'activities.db')
    expect(out).toContain(`Four research tasks, queued in ${database}.`)
    expect(out).not.toContain('Resuming')
    for (const topic of topics) {
      expect(out).toMatch(new RegExp(`✔ ${topic}: ${topic}: a short summary .+ \\(7 turns, 3380 tokens\\)`))
    }
    uninterrupted = answers(out)
    // Non-TTY output prints one line per change: progress went through reported percentages.
    expect(out).toMatch(/sea otters\s+█+░* +40%\s+running\s+Reading the best source on sea otters/)
    expect(out.match(/Activity log of .+ \(sea otters\):/g)).toHaveLength(1)
    const log = out.slice(out.indexOf('Activity log'))
    expect(log.match(/queued|running|complete/g)?.[0]).toBe('queued')
    expect(log).toMatch(/complete\s+lifecycle\s+Complete \(100%\)/)
    expect(log.match(/running\s+lifecycle\s+Started/g)).toHaveLength(1)
    expect(log).not.toMatch(/retry|resume/)
    expect(out).toContain(`4 activities in ${database}, 0 still active.`)
    // The default database is deleted once the four tasks finished.
    expect(existsSync(database)).toBe(false)
  }, 70_000)

  it('stopped mid-run and started again, finishes the same four tasks with the same answers', async () => {
    const database = join(scratch, 'restart.db')
    const env = demoEnv({ QUICKSTART_DB: database, QUICKSTART_THINK_MS: '250' })

    // 1. Start it, and stop it (Ctrl-C) once a task has checkpointed a few turns, before any finished.
    const first = spawn(process.execPath, [main], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let firstOut = ''
    let firstErr = ''
    first.stderr.on('data', (chunk: Buffer) => {
      firstErr += chunk.toString()
    })
    const stopped = new Promise<NodeJS.Signals | null>((resolve) => {
      first.on('exit', (_code, signal) => resolve(signal))
    })
    let dashboardRuns: Promise<unknown> | undefined
    first.stdout.on('data', (chunk: Buffer) => {
      firstOut += chunk.toString()
      // The dashboard it prints answers while the tasks run: the four tasks, in the browser's API.
      const url = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(firstOut)?.[1]
      if (url && !dashboardRuns)
        dashboardRuns = fetch(new URL('api/runs', url)).then((response) => response.json())
      if (/Reading the best source/.test(firstOut) && first.exitCode === null && !first.killed)
        first.kill('SIGINT')
    })
    expect(await stopped).toBe('SIGINT')
    expect(((await dashboardRuns) as { total: number } | undefined)?.total).toBe(4)
    expect(firstErr).toBe('')
    expect(firstOut).toContain(`Four research tasks, queued in ${database}.`)
    expect(firstOut).not.toMatch(/complete|✔/)

    // What it left in the file: four tasks, none finished, at least one running with a checkpoint.
    const store = new SqliteActivityStore({ path: database })
    try {
      const left = await store.list({ metadata: { example: 'quickstart' } })
      expect(left.items.map((item) => item.metadata.topic).sort()).toEqual([...topics].sort())
      expect(left.items.filter((item) => item.status === 'complete')).toEqual([])
      const running = left.items.filter((item) => item.status === 'running')
      expect(running.length).toBeGreaterThan(0)
      const turns = await Promise.all(
        running.map(async (item) => (await store.getRun(item.agentId))?.checkpoint?.turn ?? 0),
      )
      expect(Math.max(...turns)).toBeGreaterThanOrEqual(2)
    } finally {
      await store.close()
    }

    // 2. Start it again on the same file: it resumes those four tasks, enqueues none.
    const second = spawnSync(process.execPath, [main], {
      encoding: 'utf8',
      env: { ...env, QUICKSTART_THINK_MS: '5' },
      timeout: 60_000,
    })
    expect(second.stderr).not.toMatch(/Error/)
    expect(second.status).toBe(0)
    const out = second.stdout
    expect(out).toContain(
      `Resuming 4 unfinished tasks of a previous run (0 already finished) from ${database}.`,
    )
    expect(out).not.toContain('Four research tasks, queued')
    if (!uninterrupted) throw new Error('The uninterrupted run did not record its answers.')
    expect(answers(out)).toEqual(uninterrupted)
    expect(out).toContain(`4 activities in ${database}, 0 still active.`)
    expect(existsSync(database)).toBe(true) // QUICKSTART_DB is kept

    // 3. Each task's log: one run (queued when stopped), or one run that a restart took over.
    let resumed = 0
    for (const topic of topics) {
      const start = out.indexOf(`(${topic}):\n`)
      expect(start).toBeGreaterThan(0)
      const block = out.slice(start).split('\n\n')[0] as string
      const entries = block
        .split('\n')
        .slice(1)
        .map((line) => line.trim().split(/\s+/).slice(1).join(' '))
      expect(entries[0]).toBe('queued lifecycle Waiting to start (0%)')
      expect(entries[1]).toBe('running lifecycle Started')
      expect(entries.at(-1)).toBe('complete lifecycle Complete (100%)')
      expect(entries.filter((entry) => entry.includes('Started'))).toHaveLength(1)
      for (const step of ['Searching for sources', 'Reading the best source', 'Writing notes'])
        expect(entries).toContainEqual(expect.stringContaining(`progress ${step} on ${topic}`))
      const retries = entries.filter((entry) => entry.startsWith('running retry'))
      const resumes = entries.filter((entry) => entry.startsWith('running resume'))
      expect(retries.length).toBeLessThanOrEqual(1)
      expect(resumes.length).toBeLessThanOrEqual(retries.length)
      if (retries.length === 1) expect(retries[0]).toMatch(/Worker lost; retrying \(attempt 2/)
      if (resumes.length === 1) {
        expect(resumes[0]).toMatch(
          /Resumed from its checkpoint at turn [1-6] after the previous process stopped/,
        )
        resumed++
      }
    }
    expect(resumed).toBeGreaterThan(0)
  }, 90_000)
})
