import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const main = fileURLToPath(new URL('./main.ts', import.meta.url))

describe('examples/langchain (smoke test)', () => {
  it('without keys: the scripted fakeModel reports, searches, reads, answers; log and usage printed', () => {
    const env: NodeJS.ProcessEnv = { ...process.env }
    delete env.OPENAI_API_KEY
    delete env.ANTHROPIC_API_KEY
    const child = spawnSync(process.execPath, [main], { encoding: 'utf8', env, timeout: 60_000 })
    expect(child.stderr).not.toMatch(/Error/)
    expect(child.status).toBe(0)
    const out = child.stdout
    expect(out).toMatch(/^Model: scripted fakeModel\(\)\n/)
    expect(out).toContain('-> report_status {"message":"Searching for sources","percentage":10}')
    expect(out).toContain('   got: Status updated')
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
    expect(out).toContain('Usage: 2645 input (896 cached) + 141 output = 2786 tokens, 5 turns.')
  }, 70_000)
})
