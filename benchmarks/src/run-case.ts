/**
 * One case in a fresh process: `node --expose-gc src/run-case.ts <case id> [--quick]`. The entry
 * point (`main.ts`) runs every case this way, so that no case inherits another's heap, JIT state or
 * open handles; the contenders of a case share this process, so their ratios compare like with like.
 * Prints the case's result as the last stdout line (`RESULT <json>`); logs go to stderr. Run it
 * directly to profile one case: `node --cpu-prof --expose-gc src/run-case.ts 1-claude --quick`.
 */
import './lib/env.ts'
import { parseArgs } from 'node:util'
import { caseLoaders } from './cases/index.ts'
import type { CaseContext } from './lib/case.ts'
import { FakeServer } from './lib/fake-server.ts'
import type { CaseResult } from './lib/results.ts'

const RESULT_PREFIX = 'RESULT '

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { quick: { type: 'boolean', default: false } },
})
const loader = caseLoaders.find((candidate) => candidate.id === positionals[0])
if (!loader) {
  console.error(
    `usage: run-case.ts <case id> [--quick]; cases: ${caseLoaders.map((entry) => entry.id).join(', ')}`,
  )
  process.exit(2)
}

const started = performance.now()
const benchCase = await loader.load()
let fake: Promise<FakeServer> | undefined
const context: CaseContext = {
  quick: values.quick ?? false,
  fake: () => {
    fake ??= FakeServer.start()
    return fake
  },
  log: (message) => console.error(`[bench] ${message}`),
}
const identity = { id: benchCase.id, group: benchCase.group, title: benchCase.title }
let result: CaseResult
try {
  const outcome = await benchCase.run(context)
  const common = {
    ...identity,
    settings: outcome.settings ?? {},
    notes: outcome.notes ?? [],
    durationMs: performance.now() - started,
  }
  result =
    'skipped' in outcome
      ? { ...common, status: 'skipped', reason: outcome.skipped, rows: [] }
      : { ...common, status: 'ok', rows: outcome.rows }
} catch (error) {
  console.error(error)
  result = {
    ...identity,
    status: 'error',
    reason: error instanceof Error ? error.message : String(error),
    rows: [],
    settings: {},
    notes: [],
    durationMs: performance.now() - started,
  }
}
if (fake) await (await fake).close()
console.log(`${RESULT_PREFIX}${JSON.stringify(result)}`)
// Exit now: SDK keep-alive sockets and store handles must not hold the process.
process.exit(result.status === 'error' ? 1 : 0)
