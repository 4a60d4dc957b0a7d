import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const main = fileURLToPath(new URL('./main.ts', import.meta.url))

describe('examples/multi-tenant (smoke test)', () => {
  it('starts globex between acme, wraps up the run over budget, prices each tenant, and exits 0', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, MULTI_TENANT_THINK_MS: '2' }
    delete env.OPENAI_API_KEY
    delete env.OPENAI_BASE_URL
    delete env.NODE_OPTIONS
    const child = spawnSync(process.execPath, [main], { encoding: 'utf8', env, timeout: 60_000 })
    expect(child.stderr).toBe('')
    expect(child.status).toBe(0)
    const out = child.stdout

    // Fairness: the core README's bound, with acme's tasks running when globex's arrive: globex's
    // k-th task starts after at most 4 + (k - 1) of acme's, so at slot 2k + 3 at the latest.
    const started = /globex's 5 tasks started at slots ([\d, ]+) of 205 /.exec(out)
    expect(started).not.toBeNull()
    const slots = (started?.[1] ?? '').split(', ').map(Number)
    expect(slots).toHaveLength(5)
    slots.forEach((slot, index) => {
      const k = index + 1
      expect(slot - k, `acme's starts before globex's task ${k}`).toBeLessThanOrEqual(4 + (k - 1))
    })

    // The budget: the scripted overrun spent 2,600 + 340 tokens, then wrapped up with an answer.
    expect(out).toContain(
      'Budget: globex "globex deep dive" spent 2,940 of its 2,000 tokens and wrapped up: ' +
        '"globex deep dive: what was found before the budget ran out." (budgetExceeded: true).',
    )
    expect(out.match(/^Budget: /gm)).toHaveLength(1)
    expect(out).not.toContain('✘')

    // The shared rate limit is shown, and every run made its two model calls.
    expect(out).toMatch(
      /Rate limit shared by both tenants' runners: openai, 3,000 requests and 2,000,000 tokens per minute; 410 model calls, \d+ of 205 runs waited for a slot\./,
    )

    // Cost per tenant at $0.15 / $0.60 per million input / output tokens: acme 200 x 560 tokens
    // (500 in, 60 out); globex 4 such runs and the overrun (2,700 in, 240 out).
    expect(out).toContain('Cost: acme $0.022200 for 200 tasks.')
    expect(out).toContain('Cost: globex $0.000993 for 5 tasks.')

    // The daily budget per tenant counted every call of the runs inside the tasks.
    expect(out).toContain('Daily budget tenant-daily: acme spent 112,000 of 150,000 tokens today.')
    expect(out).toContain('Daily budget tenant-daily: globex spent 5,180 of 150,000 tokens today.')
  }, 70_000)
})
