/**
 * Runs one contender of a case in a loop, alone, for a CPU profile of just that code:
 *
 *   node --cpu-prof --cpu-prof-dir=prof src/tools/profile-contender.ts 1-claude runner --runs 3000
 *   node src/tools/profile-summary.ts prof/<file>.cpuprofile --filter packages/
 *
 * Cases: 1-openai, 1-claude, 1-ai-sdk, 1-langchain (contenders bare, runner, runner-no-trajectory,
 * peer), 3-core (bare, memory, memory-no-trajectory, sqlite) and 6-bullmq (bare, runner; REDIS_URL).
 */
import '../lib/env.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { FakeServer } from '../lib/fake-server.ts'
import { loadOptional } from '../lib/optional.ts'
import type { Contender } from '../lib/rounds.ts'
import type { RunnerClass } from '../lib/runner-like.ts'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: 'string', default: '2000' }, batch: { type: 'string', default: '200' } },
})
const [caseId, name] = positionals
if (!caseId || !name) {
  console.error(
    'usage: node src/tools/profile-contender.ts <case id> <contender> [--runs 2000] [--batch 200]',
  )
  process.exit(2)
}

const cleanup: Array<() => Promise<void>> = []

async function optionalRunner(pkg: string, exported: string): Promise<RunnerClass> {
  const loaded = await loadOptional<Record<string, RunnerClass>>(pkg, [exported])
  if (!loaded.ok) throw new Error(loaded.reason)
  return loaded.module[exported]!
}

async function contendersOf(id: string): Promise<Contender[]> {
  if (id === '1-openai' || id === '1-claude') {
    const fake = await FakeServer.start()
    cleanup.push(() => fake.close())
    return id === '1-openai'
      ? (await import('../cases/1-openai.ts')).openaiContenders(fake, 'profile')
      : (await import('../cases/1-claude.ts')).claudeContenders(fake, 'profile')
  }
  if (id === '1-ai-sdk') {
    return (await import('../cases/1-ai-sdk.ts')).aiSdkContenders(
      await optionalRunner('@runner/ai-sdk', 'AISDKRunner'),
    )
  }
  if (id === '1-langchain') {
    return (await import('../cases/1-langchain.ts')).langchainContenders(
      await optionalRunner('@runner/langchain', 'LangChainRunner'),
    )
  }
  if (id === '3-core') {
    const scratch = mkdtempSync(join(tmpdir(), 'runner-profile-'))
    const sqlite = new SqliteActivityStore({ path: join(scratch, 'runs.db') })
    cleanup.push(async () => {
      await sqlite.close()
      rmSync(scratch, { recursive: true, force: true })
    })
    const core = await import('../cases/3-core.ts')
    return [
      ...core.noopContenders(),
      ...core.sqliteContenders(sqlite).filter((candidate) => candidate.name !== 'bare'),
    ]
  }
  if (id === '6-bullmq') {
    const bullmq = await import('../cases/6-bullmq.ts')
    const { redisOptions } = await import('../lib/redis-options.ts')
    const loaded = await loadOptional<import('../cases/6-bullmq.ts').BullmqModule>('@runner/bullmq', [
      'bullmqEngine',
    ])
    if (!loaded.ok) throw new Error(loaded.reason)
    const connection = redisOptions(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
    const queues: string[] = []
    cleanup.push(async () => {
      for (const name of queues) await bullmq.obliterate(name, connection)
    })
    return bullmq.bullmqContenders(loaded.module, connection, queues)
  }
  throw new Error(
    `no contenders for case "${id}": use 1-openai, 1-claude, 1-ai-sdk, 1-langchain, 3-core or 6-bullmq`,
  )
}

const contender = (await contendersOf(caseId)).find((candidate) => candidate.name === name)
if (!contender) throw new Error(`case ${caseId} has no contender "${name}"`)
const runs = Number(values.runs)
const batchSize = Number(values.batch)
await (await contender.prepare(Math.min(100, batchSize), 'warmup'))()
const start = performance.now()
let done = 0
for (let batch = 0; done < runs; batch++) {
  const count = Math.min(batchSize, runs - done)
  await (await contender.prepare(count, `b${batch}`))()
  done += count
}
const elapsed = performance.now() - start
console.log(
  `${caseId} ${name}: ${runs} runs, ${(elapsed / runs).toFixed(3)} ms/run (batch preparation included)`,
)
for (const step of cleanup) await step()
process.exit(0)
