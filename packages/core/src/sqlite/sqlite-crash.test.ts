import { spawn } from 'node:child_process'
import fs from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { canTransition } from '../activity/transitions.js'
import type { Activity, ActivityStatus } from '../activity/types.js'
import { useTempDatabases } from './test-helpers/temp-database.js'

const { tempDatabase, open, raw } = useTempDatabases()

const fixture = fileURLToPath(new URL('./test-helpers/batched-writers.ts', import.meta.url))

/**
 * Runs the batched writers on `file` until they have reported `lines` resolved writes, kills the
 * process with SIGKILL, and returns every line it reported.
 */
async function killMidWrites(file: string, lines: number): Promise<string[]> {
  const output = `${file}.resolved`
  const child = spawn(process.execPath, [fixture, file, output], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk) => {
    stderr += String(chunk)
  })
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  )
  const reported = () => (fs.existsSync(output) ? fs.readFileSync(output, 'utf8') : '')
  const deadline = Date.now() + 60_000
  let running = true
  void exited.then(() => {
    running = false
  })
  while (running && reported().split('\n').length <= lines) {
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`The writers reported too little in time. stderr: ${stderr}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  child.kill('SIGKILL')
  expect(await exited, `the writers ended on their own. stderr: ${stderr}`).toBe('SIGKILL')
  // The last piece is '' or a line cut by the kill: only whole lines count.
  return reported().split('\n').slice(0, -1)
}

describe('SqliteActivityStore killed with SIGKILL during batched writes', () => {
  it('keeps every write whose promise resolved, in a file that passes the integrity check', async () => {
    // Several kills at random moments: each one lands somewhere else in a batch.
    for (let run = 0; run < 3; run++) {
      const file = tempDatabase()
      const printed = await killMidWrites(file, 200 + Math.floor(Math.random() * 3000))
      expect(printed.length).toBeGreaterThan(100)

      const db = raw(file)
      expect(db.prepare('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }])
      expect(db.prepare('PRAGMA foreign_key_check').all()).toEqual([])
      db.close()

      const store = open(file)
      const activities = new Map<string, Activity>()
      const activity = async (agentId: string) => {
        let found = activities.get(agentId)
        if (!found) {
          found = await store.get(agentId)
          expect(found, `${agentId}: its create resolved, so it is stored`).toBeDefined()
          activities.set(agentId, found!)
        }
        return found!
      }
      for (const line of printed) {
        const [what, agentId, message] = line.split(' ') as [string, string, string | undefined]
        const stored = await activity(agentId)
        if (what === 'appended') {
          expect(
            stored.log.some((entry) => entry.message === message),
            `${agentId}: the append "${message}" resolved, so it is in the log`,
          ).toBe(true)
        } else {
          expect(what).toBe('created')
        }
      }
      // Every activity in the file, printed or not, agrees with its log.
      const total = (await store.list({ limit: 1 })).total
      let cursor: string | undefined
      let seen = 0
      do {
        const page = await store.list({ limit: 500, ...(cursor === undefined ? {} : { cursor }) })
        for (const summary of page.items) expectConsistent((await store.get(summary.agentId))!)
        seen += page.items.length
        cursor = page.nextCursor
      } while (cursor !== undefined)
      expect(seen).toBe(total)
      expect(await store.list({ metadata: { writer: 3 }, limit: 1 })).toMatchObject({
        total: (await store.list({ limit: 1000 })).items.filter((item) => item.metadata.writer === 3).length,
      })
      await store.close()
    }
  }, 120_000)
})

/** The current row agrees with the log: what a torn write would break. */
function expectConsistent(activity: Activity): void {
  const { log } = activity
  expect(log.length, activity.agentId).toBeGreaterThan(0)
  expect(log[0]!).toMatchObject({ status: 'queued', percentage: 0 })
  expect(log[0]!.at).toBe(activity.createdAt)
  for (let index = 1; index < log.length; index++) {
    expect(
      canTransition(log[index - 1]!.status, log[index]!.status),
      `${activity.agentId} log ${index}`,
    ).toBe(true)
  }
  const last = log.at(-1)!
  expect(activity.status).toBe(last.status)
  expect(activity.message).toBe(last.message)
  expect(activity.updatedAt).toBe(last.at)
  const percentages = log.map((entry) => entry.percentage).filter((value) => value !== null)
  expect(activity.percentage).toBe(percentages.at(-1))
  expect(activity.startedAt).toBe(log.find((entry) => entry.status === 'running')?.at)
  const terminal: ActivityStatus[] = ['complete', 'error', 'canceled']
  expect(activity.finishedAt).toBe(terminal.includes(activity.status) ? last.at : undefined)
}
