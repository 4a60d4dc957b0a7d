import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const approvals = fileURLToPath(new URL('./approvals.ts', import.meta.url))

describe('examples/langchain approvals (smoke test)', () => {
  it('without a key: the run waits for the approval of publish; another runner approves and resumes it', () => {
    const env: NodeJS.ProcessEnv = { ...process.env }
    delete env.OPENAI_API_KEY
    const child = spawnSync(process.execPath, [approvals], { encoding: 'utf8', env, timeout: 60_000 })
    expect(child.stderr).not.toMatch(/Error/)
    expect(child.status).toBe(0)
    const out = child.stdout
    expect(out).toMatch(
      /^Run ([0-9a-f-]{36}) is waiting:\n {2}call_0_0: approval of publish \{"title":"Why sea otters hold hands"\}\n/,
    )
    const agentId = /^Run ([0-9a-f-]{36})/.exec(out)?.[1]
    // The tool ran once, after the approval, with the run's idempotency key.
    expect(out.match(/\(publishing /g)).toHaveLength(1)
    expect(out).toContain(`idempotency key ${agentId}:call_0_0)`)
    expect(out).toContain('The article "Why sea otters hold hands" is published.')
    const log = out
      .slice(out.indexOf('Activity log:'))
      .split('\n')
      .slice(1, 6)
      .map((line) => line.trim().replace(/\s+/, ' '))
    expect(log).toEqual([
      'queued Waiting to start',
      'running Started',
      'waiting Waiting for approval of publish',
      'running Resumed at turn 1 with decisions: publish approved by editor-in-chief',
      'complete Complete',
    ])
  }, 70_000)
})
