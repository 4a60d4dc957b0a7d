/**
 * Child process of the durable-run tests in `sqlite-durable.test.ts`, in one of two modes:
 *
 * - `checkpoints <file> <stateBytes>`: creates one running activity, then saves ever newer
 *   checkpoints of about `stateBytes` bytes until killed, odd turns with `append` (an entry and
 *   the checkpoint in one write), even turns with `saveCheckpoint`. Prints each turn once it is
 *   committed.
 * - `claims <file> <owner> <limit>`: opens the store, prints `ready`, waits for a line on stdin,
 *   then claims jobs (`limit` per claim, long leases) until a claim returns none, printing the
 *   ids of each claim as one JSON line, and exits.
 *
 * Node runs this file with type stripping. The sources import each other as `./x.js` (as the build
 * needs), so a resolve hook maps a missing relative `.js` to its `.ts` before the store is loaded.
 */
import { createInterface } from 'node:readline'

// Registers the .js -> .ts resolve hook before the sources load (a computed URL: tsc leaves it alone).
await import(new URL('./load-source.ts', import.meta.url).href)

const { SqliteActivityStore } = await import('../sqlite-store.js')

const [mode, path, ...rest] = process.argv.slice(2)
if (!path) throw new Error('usage: durable-worker.ts <checkpoints|claims> <database file> ...')

/** A checkpoint whose state carries its turn at both ends, so that a torn write would show. */
function checkpointState(turn: number, stateBytes: number) {
  return { turn, filler: String(turn % 10).repeat(stateBytes), tail: turn }
}

if (mode === 'checkpoints') {
  const stateBytes = Number(rest[0] ?? 1_000_000)
  const store = new SqliteActivityStore({ path, maxRecordBytes: stateBytes * 2 })
  const agentId = 'crash-run'
  await store.create({ agentId, agentType: 'crash-test', message: 'Waiting' })
  await store.append(agentId, { status: 'running', message: 'Started' })
  for (let turn = 1; ; turn++) {
    const checkpoint = {
      state: checkpointState(turn, stateBytes),
      runner: 'crash-test',
      turn,
      usage: { inputTokens: turn, outputTokens: turn, totalTokens: 2 * turn },
      attempt: 1,
    }
    if (turn % 2 === 1)
      await store.append(agentId, { status: 'running', message: `turn ${turn}`, checkpoint })
    else await store.saveCheckpoint(agentId, checkpoint)
    process.stdout.write(`${turn}\n`)
  }
} else if (mode === 'claims') {
  const owner = rest[0] ?? `owner-${process.pid}`
  const limit = Number(rest[1] ?? 1)
  const store = new SqliteActivityStore({ path, busyTimeoutMs: 30_000 })
  process.stdout.write('ready\n')
  const lines = createInterface({ input: process.stdin })
  await new Promise<void>((resolve) => lines.once('line', () => resolve()))
  lines.close()
  while (true) {
    const claimed = await store.jobQueue.claim(owner, limit, 600_000)
    if (claimed.length === 0) break
    process.stdout.write(`${JSON.stringify(claimed.map((job) => job.agentId))}\n`)
  }
  await store.close()
} else {
  throw new Error(`unknown mode ${mode}`)
}
