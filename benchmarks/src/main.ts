/**
 * `pnpm bench [--quick] [--only <ids>] [--out <dir>]`: runs every case, each in a fresh child
 * process (`run-case.ts`), then writes RESULTS.md and RESULTS.json. `--quick` (the CI smoke run)
 * and `--only` write under `results/`, never over the committed files. Exits non-zero only when a
 * case crashes: a missed target is a result, not a failure.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { caseLoaders } from './cases/index.ts'
import { commitInfo, machineInfo, packageVersions } from './lib/machine.ts'
import { type BenchReport, renderMarkdown, renderSummary, summarize } from './lib/report.ts'
import type { CaseResult } from './lib/results.ts'

const RESULT_PREFIX = 'RESULT '

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
  },
})
const quick = values.quick ?? false
const only = values.only
  ?.split(',')
  .map((id) => id.trim())
  .filter(Boolean)
const selected = only
  ? caseLoaders.filter((entry) => only.some((id) => entry.id.startsWith(id)))
  : caseLoaders
if (selected.length === 0) {
  console.error(
    `--only ${values.only}: no case matches; cases: ${caseLoaders.map((entry) => entry.id).join(', ')}`,
  )
  process.exit(2)
}

const packageDir = fileURLToPath(new URL('../', import.meta.url))
const outDir =
  values.out ??
  (only ? join(packageDir, 'results', 'only') : quick ? join(packageDir, 'results', 'quick') : packageDir)
const runCase = fileURLToPath(new URL('./run-case.ts', import.meta.url))
const log = (message: string) => console.error(`[bench] ${message}`)
/** A case that runs longer than this is stopped and reported as failed (a hang must not stall CI). */
const caseTimeoutMs = (quick ? 5 : 30) * 60_000

/** Runs one case in a child process; a crash (no result line) becomes an `error` result. */
function runChild(id: string): Promise<CaseResult> {
  const started = performance.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', runCase, id, ...(quick ? ['--quick'] : [])], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let stdout = ''
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, caseTimeoutMs)
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const line = stdout.split('\n').find((candidate) => candidate.startsWith(RESULT_PREFIX))
      if (line) {
        resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as CaseResult)
        return
      }
      resolve({
        id,
        group: Number.parseInt(id, 10),
        title: id,
        status: 'error',
        reason: timedOut
          ? `the case did not finish within ${caseTimeoutMs / 60_000} minutes and was stopped`
          : `the case crashed (${signal ? `signal ${signal}` : `exit code ${code}`}); its output is above`,
        rows: [],
        settings: {},
        notes: [],
        durationMs: performance.now() - started,
      })
    })
  })
}

const started = performance.now()
const machine = machineInfo()
log(`${quick ? 'quick' : 'full'} run of ${selected.map((entry) => entry.id).join(', ')}`)
const results: CaseResult[] = []
for (const { id } of selected) {
  log(`${id}: starting`)
  const result = await runChild(id)
  log(
    `${id}: ${result.status}${result.reason ? ` (${result.reason})` : ''} in ${(result.durationMs / 1000).toFixed(1)} s`,
  )
  results.push(result)
}

const report: BenchReport = {
  generatedAt: new Date().toISOString(),
  mode: quick ? 'quick' : 'full',
  ...(values.only ? { only: values.only } : {}),
  commit: commitInfo(),
  wallTimeMs: performance.now() - started,
  machine,
  versions: packageVersions(),
  summary: summarize(results),
  cases: results,
}
mkdirSync(outDir, { recursive: true })
writeFileSync(join(outDir, 'RESULTS.md'), renderMarkdown(report))
writeFileSync(join(outDir, 'RESULTS.json'), `${JSON.stringify(report, null, 2)}\n`)
console.log(renderSummary(report))
log(`wrote ${join(outDir, 'RESULTS.md')} and RESULTS.json`)
process.exit(report.summary.errors > 0 ? 1 : 0)
