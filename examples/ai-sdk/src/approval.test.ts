import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const program = fileURLToPath(new URL('./approval.ts', import.meta.url))

/** The approval example on the scripted mock model: no key, no network, whatever the machine has set. */
function runExample(...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of ['OPENAI_API_KEY', 'OPENAI_MODEL', 'ANTHROPIC_API_KEY', 'ANTHROPIC_MODEL'])
    delete env[name]
  return spawnSync(process.execPath, [program, ...args], { encoding: 'utf8', env, timeout: 30_000 })
}

function logOf(out: string): string[] {
  return out
    .slice(out.indexOf('Activity log:'))
    .split('\n')
    .slice(1)
    .map((line) => line.trim().replace(/\s+/, ' '))
    .filter((line) => line !== '')
}

describe('examples/ai-sdk approval (smoke test)', () => {
  it('waits for the approval of publish, then publishes once when a reviewer approves', () => {
    const child = runExample()
    expect(child.stderr).not.toMatch(/Error/)
    expect(child.status).toBe(0)
    const out = child.stdout
    expect(out).toMatch(/^Run [0-9a-f-]{36}: waiting after 2 turns/)
    expect(out).toContain('   waiting for approval of publish {"title":"Why sea otters hold hands",')
    expect(
      out.match(/publishing "Why sea otters hold hands" \(idempotency key [0-9a-f-]{36}:call_1_0\)/g),
    ).toHaveLength(1)
    expect(out).toMatch(
      /complete after 3 turns\nPublished: https:\/\/example.org\/notes\/why-sea-otters-hold-hands/,
    )
    expect(logOf(out)).toEqual([
      'queued Waiting to start',
      'running Started',
      'waiting Waiting for approval of publish',
      'running Resumed at turn 2 with decisions: publish approved by ada',
      'complete Complete',
    ])
  }, 40_000)

  it('with --deny, never publishes: the model reads the reviewer’s reason', () => {
    const child = runExample('--deny')
    expect(child.status).toBe(0)
    expect(child.stdout).not.toContain('publishing')
    expect(child.stdout).toContain('I did not publish the note: the reviewer asked for a source first.')
    expect(logOf(child.stdout)).toContain(
      'running Resumed at turn 2 with decisions: publish denied by ada (cite a source first)',
    )
  }, 40_000)
})
