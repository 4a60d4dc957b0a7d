import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const main = fileURLToPath(new URL('./main.ts', import.meta.url))

describe('examples/custom-runner (smoke test)', () => {
  it('retries, reports, calls the tool, streams the answer and prints the log and usage', () => {
    const child = spawnSync(process.execPath, [main], {
      encoding: 'utf8',
      env: { ...process.env, DEMO_CHUNK_DELAY_MS: '0' },
      timeout: 30_000,
    })
    expect(child.stderr).not.toMatch(/Error/)
    expect(child.status).toBe(0)
    const out = child.stdout
    expect(out).toContain('retrying after: TinyModelError: The model is overloaded')
    expect(out).toContain('-> report_status {"message":"Looking sea otters up in the wiki","percentage":30}')
    expect(out).toContain('-> lookup {"topic":"sea otters"}')
    expect(out).toContain(
      'Sea otters hold paws while they sleep, so that the current does not pull them apart.',
    )
    const log = out.slice(out.indexOf('Activity log of'))
    expect(log).toMatch(/Activity log of [0-9a-f-]{36} \(researcher\):/)
    const lines = log
      .split('\n')
      .slice(1, 7)
      .map((line) => line.trim().replace(/\s+/, ' '))
    expect(lines).toEqual([
      'queued Waiting to start (0%)',
      'running Started',
      'running Retry 1/1: The model is overloaded, try again later.',
      'running Looking sea otters up in the wiki (30%)',
      'running Writing the answer (80%)',
      'complete Complete (100%)',
    ])
    const usage = out.match(/Usage: (\d+) input \+ (\d+) output = (\d+) tokens, 4 turns, 2 attempts\./)
    expect(usage).not.toBeNull()
    const [, input, output, total] = usage!.map(Number)
    expect(input! + output!).toBe(total)
    expect(input).toBeGreaterThan(0)
  }, 40_000)
})
