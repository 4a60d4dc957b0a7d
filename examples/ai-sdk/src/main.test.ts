import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const main = fileURLToPath(new URL('./main.ts', import.meta.url))

/** The example's output on the scripted mock model: no key, no network, whatever the machine has set. */
function runExample() {
  const env: NodeJS.ProcessEnv = { ...process.env, DEMO_CHUNK_DELAY_MS: '0' }
  for (const name of ['OPENAI_API_KEY', 'OPENAI_MODEL', 'ANTHROPIC_API_KEY', 'ANTHROPIC_MODEL'])
    delete env[name]
  return spawnSync(process.execPath, [main], { encoding: 'utf8', env, timeout: 30_000 })
}

describe('examples/ai-sdk (smoke test)', () => {
  it('reports, searches, reads, streams the answer and prints the log and usage', () => {
    const child = runExample()
    expect(child.stderr).not.toMatch(/Error/)
    expect(child.status).toBe(0)
    const out = child.stdout
    expect(out).toMatch(/^Model: scripted-researcher \(MockLanguageModelV4\), scripted/)
    expect(out).toContain('-> report_status {"message":"Searching for sources","percentage":10}')
    expect(out).toContain('-> search {"query":"sea otters hold hands"}')
    expect(out).toContain(
      '   got: [{"title":"How sea otters sleep","url":"https://example.org/otters/sleep"},',
    )
    expect(out).toContain('-> read {"url":"https://example.org/otters/sleep"}')
    expect(out).toContain('   got: Sea otters sleep floating on their backs.')
    expect(out).toContain(
      'Sea otters hold paws while they sleep on their backs, so that the current does not carry them apart (https://example.org/otters/sleep).',
    )
    const log = out.slice(out.indexOf('Activity log of'))
    expect(log).toMatch(/^Activity log of [0-9a-f-]{36} \(researcher\):/)
    expect(
      log
        .split('\n')
        .slice(1, 6)
        .map((line) => line.trim().replace(/\s+/, ' ')),
    ).toEqual([
      'queued Waiting to start (0%)',
      'running Started',
      'running Searching for sources (10%)',
      'running Reading the best source (50%)',
      'complete Complete (100%)',
    ])
    expect(out).toContain('Usage: 2600 input (896 cached) + 136 output = 2736 tokens, 5 turns.')
  }, 40_000)
})
