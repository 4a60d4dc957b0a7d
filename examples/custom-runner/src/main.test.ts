import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const main = fileURLToPath(new URL('./main.ts', import.meta.url))

describe('examples/custom-runner (smoke test)', () => {
  it('repeats the failed call, reports, calls the tool, streams the answer and prints the log and usage', () => {
    const child = spawnSync(process.execPath, [main], {
      encoding: 'utf8',
      env: { ...process.env, DEMO_CHUNK_DELAY_MS: '0' },
      timeout: 30_000,
    })
    expect(child.stderr).not.toMatch(/Error/)
    expect(child.status).toBe(0)
    const out = child.stdout
    expect(out).toContain(
      'retry: attempt 2 of 3, the model call is repeated in place, after TinyModelError: The model is overloaded',
    )
    expect(out).toContain('-> report_status {"message":"Looking sea otters up in the wiki","percentage":30}')
    expect(out).toContain('-> lookup {"topic":"sea otters"}')
    expect(out).toContain(
      'Sea otters hold paws while they sleep, so that the current does not pull them apart.',
    )
    const log = out.slice(out.indexOf('Activity log of'))
    expect(log).toMatch(/Activity log of [0-9a-f-]{36} \(researcher\):/)
    // Each entry as printed: status, kind, message (whitespace between columns collapsed).
    const lines = log
      .split('\n')
      .slice(1, 7)
      .map((line) => line.trim().replace(/\s+/g, ' '))
    expect(lines).toEqual([
      'queued lifecycle Waiting to start (0%)',
      'running lifecycle Started',
      'running retry Retrying (attempt 2 of 3): The model is overloaded, try again later.',
      'running progress Looking sea otters up in the wiki (30%)',
      'running progress Writing the answer (80%)',
      'complete lifecycle Complete (100%)',
    ])
    const usage = out.match(/Usage: (\d+) input \+ (\d+) output = (\d+) tokens, 4 turns, 2 attempts\./)
    expect(usage).not.toBeNull()
    const [, input, output, total] = usage!.map(Number)
    expect(input! + output!).toBe(total)
    expect(input).toBeGreaterThan(0)
  }, 40_000)
})
