import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { cliPath, tasksPath } from './test-helpers/worker-process.js'

/** Runs the built CLI with only the given RUNNER_* variables. */
function run(args: string[], runnerEnv: Record<string, string> = {}) {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('RUNNER_')) env[key] = value
  const child = spawnSync(process.execPath, [cliPath, ...args], {
    env: { ...env, ...runnerEnv },
    encoding: 'utf8',
    timeout: 20_000,
  })
  return { code: child.status, stdout: child.stdout, stderr: child.stderr }
}

const scratch = mkdtempSync(join(tmpdir(), 'runner-worker-cli-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

describe.skipIf(!existsSync(cliPath))('runner-worker (errors before any connection)', () => {
  it('prints its usage with --help', { timeout: 20_000 }, () => {
    const { code, stdout } = run(['--help'])
    expect(code).toBe(0)
    expect(stdout).toMatch(/^Usage: runner-worker <tasks-module> --queue <name> \[options\]/)
    expect(stdout).toContain('RUNNER_REDIS_URL')
  })

  it('exits 2 on a usage error', { timeout: 20_000 }, () => {
    const { code, stderr } = run([tasksPath])
    expect(code).toBe(2)
    expect(stderr).toContain('runner-worker: --queue <name> is required')
    expect(stderr).toContain('Run runner-worker --help for the options.')
  })

  it('exits 1 without RUNNER_REDIS_URL, or with a per-process store', { timeout: 20_000 }, () => {
    expect(run([tasksPath, '--queue', 'q']).stderr).toContain('runner-worker: RUNNER_REDIS_URL is not set')
    const memory = run([tasksPath, '--queue', 'q'], { RUNNER_REDIS_URL: 'redis://127.0.0.1:1' })
    expect(memory.code).toBe(1)
    expect(memory.stderr).toContain(
      'RUNNER_STORE_URL: is not set (or is memory:): a worker needs the activity store the other processes write to',
    )
  })

  it('reports bad RUNNER_* variables through loadConfig', { timeout: 20_000 }, () => {
    const { code, stderr } = run([tasksPath, '--queue', 'q'], { RUNNER_CONCURENCY: '4' })
    expect(code).toBe(1)
    expect(stderr).toContain('RUNNER_CONCURENCY: unknown key; did you mean RUNNER_CONCURRENCY?')
  })

  it('explains a module that exports no tasks', { timeout: 20_000 }, () => {
    const empty = join(scratch, 'empty.mjs')
    writeFileSync(empty, 'export const nothing = 1\n')
    const { code, stderr } = run([empty, '--queue', 'q'], { RUNNER_REDIS_URL: 'redis://127.0.0.1:1' })
    expect(code).toBe(1)
    expect(stderr).toContain('exports no tasks (found: nothing)')
  })
})
