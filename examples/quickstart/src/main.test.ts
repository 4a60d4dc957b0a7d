import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const main = fileURLToPath(new URL('./main.ts', import.meta.url))

describe('examples/quickstart (smoke test)', () => {
  it('runs four research tasks to completion and prints the log of one', () => {
    // The scripted protocol fake, whatever the machine has set: no key, no network.
    const env: NodeJS.ProcessEnv = { ...process.env, QUICKSTART_THINK_MS: '5' }
    delete env.OPENAI_API_KEY
    delete env.OPENAI_BASE_URL
    delete env.QUICKSTART_DB
    const child = spawnSync(process.execPath, [main], { encoding: 'utf8', env, timeout: 60_000 })
    expect(child.stderr).not.toMatch(/Error/)
    expect(child.status).toBe(0)
    const out = child.stdout
    for (const topic of ['sea otters', 'the Voyager probes', 'sourdough starters', 'the Rosetta Stone']) {
      expect(out).toMatch(new RegExp(`✔ ${topic}: ${topic}: a short summary`))
    }
    // Non-TTY output prints one line per change: progress went through reported percentages.
    expect(out).toMatch(/sea otters\s+█+░* +40%\s+running\s+Reading the best source on sea otters/)
    expect(out).toMatch(/Activity log of .+ \(sea otters\):/)
    const log = out.slice(out.indexOf('Activity log'))
    expect(log.match(/queued|running|complete/g)?.[0]).toBe('queued')
    expect(log).toMatch(/complete\s+Complete \(100%\)/)
    expect(log.match(/running\s+Started/g)).toHaveLength(1)
    expect(out).toMatch(/4 activities in .*activities\.db, 0 still active\./)
  }, 70_000)
})
