// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text with ${ENV} references, not templates
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRunners, loadRunnerConfig } from '@runner/core/registry'
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ClaudeRunner } from './claude-runner.js'

let fake: ProtocolFake
let dir: string
beforeEach(async () => {
  fake = await startProtocolFake()
  dir = await mkdtemp(join(tmpdir(), 'claude-registry-'))
})
afterEach(async () => {
  await fake.close()
  await rm(dir, { recursive: true, force: true })
})

/** How an application loads `@runner/claude`: by its name, from its own module. */
const importPackage = (name: string) => import(name)

describe('ClaudeRunner from a runner config', () => {
  it('a JSON config with ${ENV} makes a ClaudeRunner; a route on the tenant picks its model', async () => {
    const standard = fake.play(scenario().text('Standard answer.'))
    const premium = fake.play(scenario().text('Premium answer.'))
    const path = join(dir, 'runner.config.json')
    await writeFile(
      path,
      JSON.stringify({
        runners: {
          assistant: {
            type: 'claude',
            model: '${CLAUDE_MODEL}',
            apiKey: '${ANTHROPIC_API_KEY}',
            baseURL: '${ANTHROPIC_BASE_URL}',
            logLevel: 'off',
          },
        },
      }),
    )
    const env = {
      CLAUDE_MODEL: standard.model,
      ANTHROPIC_API_KEY: 'sk-ant-from-env',
      ANTHROPIC_BASE_URL: fake.anthropicBaseURL,
    }
    const config = await loadRunnerConfig<string>(path, { env })
    const runners = await createRunners(
      {
        ...config,
        routes: [
          (_input, metadata) => metadata.tenant === 'acme' && { runner: 'assistant', model: premium.model },
        ],
      },
      { importPackage },
    )
    expect(runners.get('assistant').constructor.name).toBe(ClaudeRunner.name)

    const agent = { model: 'unused', maxTokens: 256 }
    const acme = await runners.router.run(agent, 'Hello', { metadata: { tenant: 'acme' } })
    const other = await runners.router.run(agent, 'Hello', { metadata: { tenant: 'globex' } })
    expect(acme).toMatchObject({ status: 'complete', text: 'Premium answer.' })
    expect(other).toMatchObject({ status: 'complete', text: 'Standard answer.' })
    standard.player.assertDone()
    premium.player.assertDone()
    // The key came from the environment (the SDK sends it as a bearer token or as x-api-key).
    const headers = fake.requestsFor(premium.model)[0]?.headers ?? {}
    expect(headers['x-api-key'] ?? headers.authorization).toMatch(/^(Bearer )?sk-ant-from-env$/)
  })
})
