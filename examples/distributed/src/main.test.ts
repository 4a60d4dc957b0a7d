import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/** `pg` (a dependency of this example; its types are not installed): only to drop the test schema. */
const pg = createRequire(import.meta.url)('pg') as {
  Pool: new (options: {
    connectionString?: string
    max: number
  }) => {
    query(sql: string): Promise<unknown>
    end(): Promise<void>
  }
}

const main = fileURLToPath(new URL('./main.ts', import.meta.url))
const redisUrl = process.env.REDIS_URL || undefined
const databaseUrl = process.env.DATABASE_URL || undefined
if (!redisUrl || !databaseUrl) {
  console.warn(
    '[examples/distributed] REDIS_URL or DATABASE_URL is not set: the smoke test of a full run is skipped.',
  )
}

describe('examples/distributed (smoke test)', () => {
  it('says what is missing and exits 0 without Redis and PostgreSQL', () => {
    const env: NodeJS.ProcessEnv = { ...process.env }
    delete env.REDIS_URL
    delete env.DATABASE_URL
    const child = spawnSync(process.execPath, [main], { encoding: 'utf8', env, timeout: 30_000 })
    expect(child.status).toBe(0)
    expect(child.stdout).toContain(
      'examples/distributed needs Redis and PostgreSQL: set REDIS_URL and DATABASE_URL',
    )
  }, 40_000)

  it.skipIf(!redisUrl || !databaseUrl)(
    'runs two workers and the API: results from the workers, a cancel across processes, a graceful stop',
    async () => {
      const schema = `runner_distributed_smoke_${randomBytes(4).toString('hex')}`
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        DISTRIBUTED_SCHEMA: schema,
        DISTRIBUTED_THINK_MS: '150',
      }
      try {
        const child = spawnSync(process.execPath, [main], { encoding: 'utf8', env, timeout: 90_000 })
        const out = child.stdout
        expect(child.stderr).not.toMatch(/Error/)
        expect(child.status).toBe(0)
        expect(out.match(/\[worker \d\] worker \d+: ready/g)).toHaveLength(2)
        for (const topic of [
          'sea otters',
          'the Voyager probes',
          'sourdough starters',
          'the Rosetta Stone',
          'tidal power',
        ]) {
          expect(out).toMatch(
            new RegExp(
              `✔ ${topic}: ${topic}: a short summary from the best source\\. \\(worker \\d+, 5 turns\\)`,
            ),
          )
        }
        expect(out).toContain('✖ a topic we change our mind about: canceled')
        expect(out).toContain('(cancel of "a topic we change our mind about": true)')
        // Progress came from the workers, through the shared store.
        expect(out).toMatch(/sea otters\s+60%\s+running\s+Reading the best source on sea otters/)
        expect(out).toContain('api: 6 of 6 ended as expected; 0 still active')
        expect(out.match(/\[worker \d\] worker \d+: stopped/g)).toHaveLength(2)
      } finally {
        const admin = new pg.Pool({ connectionString: databaseUrl, max: 1 })
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
        await admin.end()
      }
    },
    100_000,
  )
})
