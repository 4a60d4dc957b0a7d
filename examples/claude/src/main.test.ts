import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const main = fileURLToPath(new URL('./main.ts', import.meta.url))

/** The example on the protocol fake: no key, no network, whatever the machine has set. */
function runExample() {
  const env: NodeJS.ProcessEnv = { ...process.env, DEMO_FRAME_DELAY_MS: '0' }
  for (const name of [
    'ANTHROPIC_API_KEY',
    'ANTHROPIC_BASE_URL',
    'ANTHROPIC_MODEL',
    'OPENAI_API_KEY',
    'OPENAI_BASE_URL',
    'OPENAI_MODEL',
  ]) {
    delete env[name]
  }
  return spawnSync(process.execPath, [main], { encoding: 'utf8', env, timeout: 30_000 })
}

describe('examples/claude (smoke test)', () => {
  it('Claude answers 529 to every attempt, OpenAI finishes the run on the same agentId, the log says so', () => {
    const child = runExample()
    expect(child.stderr).not.toMatch(/Error/)
    expect(child.status).toBe(0)
    const out = child.stdout
    expect(out).toMatch(
      /^Claude: http:\/\/127\.0\.0\.1:\d+, model claude-scripted \(scripted: answers 529 Overloaded\)\n/,
    )
    expect(out).toMatch(/\nOpenAI: http:\/\/127\.0\.0\.1:\d+\/v1, model gpt-scripted\n/)
    const agentId = out.match(/\nRun ([0-9a-f-]{36}): Why do sea otters hold paws\?\n/)?.[1]
    expect(agentId).toBeDefined()
    expect(out).toContain('[running] Retrying (attempt 2 of 3): 529 overloaded_error: Overloaded\n')
    expect(out).toContain('[running] Falling back to OpenAIRunner: 529 overloaded_error: Overloaded\n')
    expect(out).toContain('-> report_status {"message":"Looking sea otters up in the wiki","percentage":30}')
    expect(out).toContain('-> lookup {"topic":"sea otters"}')
    expect(out).toContain(
      '\nSea otters hold paws while they sleep, so that the current does not carry them apart.\n[complete] Complete\n',
    )
    const log = out.slice(out.indexOf('Activity log of'))
    expect(log.split('\n')[0]).toBe(`Activity log of ${agentId} (researcher):`)
    // Each line: status, kind, message.
    expect(
      log
        .split('\n')
        .slice(1, 8)
        .map((line) => line.trim().replace(/^(\S+)\s+(\S+)\s+/, '$1 $2 ')),
    ).toEqual([
      'queued lifecycle Waiting to start (0%)',
      'running lifecycle Started',
      'running retry Retrying (attempt 2 of 3): 529 overloaded_error: Overloaded',
      'running retry Retrying (attempt 3 of 3): 529 overloaded_error: Overloaded',
      'running fallback Falling back to OpenAIRunner: 529 overloaded_error: Overloaded',
      'running progress Looking sea otters up in the wiki (30%)',
      'complete lifecycle Complete (100%)',
    ])
    expect(out).toContain(
      'Answered by OpenAIRunner (after the fallback). Usage: 1393 input (384 cached) + 73 output = 1466 tokens, 3 turns.',
    )
  }, 40_000)
})
