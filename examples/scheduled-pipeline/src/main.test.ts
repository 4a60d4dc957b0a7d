import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const main = fileURLToPath(new URL('./main.ts', import.meta.url))

describe('examples/scheduled-pipeline (smoke test)', () => {
  it('fires the schedule twice; each firing runs the three steps, three child runs, and prints its tree', () => {
    const env: NodeJS.ProcessEnv = { ...process.env }
    for (const name of ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'NODE_OPTIONS']) delete env[name]
    const child = spawnSync(process.execPath, [main], { encoding: 'utf8', env, timeout: 60_000 })
    expect(child.stderr).toBe('')
    expect(child.status).toBe(0)
    const out = child.stdout
    const firings = out.match(/^Firing schedule\.team-digest\.\d+ \(scheduled for [^)]+\):$/gm) ?? []
    expect(firings).toHaveLength(2)
    // Ticks on even seconds, 2 s apart.
    const ticks = firings.map((line) => Number(/team-digest\.(\d+)/.exec(line)?.[1]))
    expect(ticks.every((tick) => tick % 2000 === 0)).toBe(true)
    expect((ticks[1] ?? 0) - (ticks[0] ?? 0)).toBeGreaterThanOrEqual(2000)
    expect(
      out.match(
        / {2}progress: Step 1\/3: collect → Step 2\/3: research → Children: 1 of 3 done → Children: 2 of 3 done → Children: 3 of 3 done → Step 3\/3: write$/gm,
      ),
    ).toHaveLength(2)
    expect(out.match(/^ {4}- herons: three new findings this week\.$/gm)).toHaveLength(2)
    expect(
      out.match(/^ {2}complete digest: Complete\n( {4}complete researcher: Complete\n){3}/gm),
    ).toHaveLength(2)
  }, 70_000)
})
