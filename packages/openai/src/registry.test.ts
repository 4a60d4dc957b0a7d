// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text with ${ENV} references, not templates
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BaseAgentRunner, ConfigError } from '@runner/core'
import { createRegistry, createRunners, loadRunnerConfig } from '@runner/core/registry'
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { OpenAIRunner } from './openai-runner.js'

let fake: ProtocolFake
let dir: string
beforeEach(async () => {
  fake = await startProtocolFake()
  dir = await mkdtemp(join(tmpdir(), 'openai-registry-'))
})
afterEach(async () => {
  await fake.close()
  await rm(dir, { recursive: true, force: true })
})

/** How this package's tests load `@runner/openai`: by its own name, as an application would. */
const importPackage = (name: string) => import(name)

async function configFile(runners: Record<string, unknown>): Promise<string> {
  const path = join(dir, 'runner.config.json')
  await writeFile(path, JSON.stringify({ runners }))
  return path
}

describe('OpenAIRunner from a runner config', () => {
  it('a JSON config with ${ENV} makes an OpenAIRunner that runs end to end', async () => {
    const { model, player } = fake.play(scenario().text('Otters hold hands.'))
    const path = await configFile({
      research: {
        type: 'openai',
        model: '${RESEARCH_MODEL}',
        apiKey: '${OPENAI_API_KEY}',
        baseURL: '${OPENAI_BASE_URL}',
        logLevel: 'off',
      },
    })
    const env = { RESEARCH_MODEL: model, OPENAI_API_KEY: 'sk-from-env', OPENAI_BASE_URL: fake.openaiBaseURL }
    const runners = await createRunners(await loadRunnerConfig(path, { env }), { importPackage })
    const runner = runners.get('research')
    // The registry imported the package by name: its class, whichever copy the resolver found.
    expect(runner.constructor.name).toBe(OpenAIRunner.name)

    const result = await runner.run({ model: 'not-this-one' }, 'Tell me about otters', {
      agentId: 'config-openai',
    })
    expect(result).toMatchObject({ status: 'complete', text: 'Otters hold hands.' })
    player.assertDone()
    const [request] = fake.requestsFor(model)
    expect(request?.headers.authorization).toBe('Bearer sk-from-env')
    expect((await runner.activity.detail('config-openai')).agentType).toBe('research')
  })

  it('a route picks the model per run; the runner is made for that model', async () => {
    const small = fake.play(scenario().text('Short answer.'))
    const large = fake.play(scenario().text('Long, careful answer.'))
    const path = await configFile({
      chat: {
        type: 'openai',
        model: small.model,
        apiKey: 'test-key',
        baseURL: fake.openaiBaseURL,
        logLevel: 'off',
      },
    })
    const config = await loadRunnerConfig<string>(path, { env: {} })
    const runners = await createRunners(
      {
        ...config,
        routes: [(_input, metadata) => metadata.tier === 'pro' && { runner: 'chat', model: large.model }],
      },
      { importPackage },
    )
    const pro = await runners.router.run({ model: 'unused' }, 'Explain tides', { metadata: { tier: 'pro' } })
    const free = await runners.router.run({ model: 'unused' }, 'Explain tides', {
      metadata: { tier: 'free' },
    })
    expect(pro).toMatchObject({ text: 'Long, careful answer.' })
    expect(free).toMatchObject({ text: 'Short answer.' })
    small.player.assertDone()
    large.player.assertDone()
  })

  it("a user's own runner, registered, falls back to a config-made OpenAIRunner", async () => {
    const { model } = fake.play(scenario().text('From OpenAI.'))
    const path = await configFile({
      local: { type: 'flaky', fallback: ['cloud'] },
      cloud: { type: 'openai', model, apiKey: 'test-key', baseURL: fake.openaiBaseURL, logLevel: 'off' },
    })
    /** A user's own runner: it extends BaseAgentRunner, and its model server is down. */
    class FlakyRunner extends BaseAgentRunner<unknown, string, string> {
      protected override async execute(): Promise<never> {
        throw new Error('local model offline')
      }
    }
    const registry = createRegistry().register('flaky', (options) => new FlakyRunner(options))
    const runners = await createRunners(await loadRunnerConfig(path, { env: {} }), {
      registry,
      importPackage,
    })
    const result = await runners.get('local').run({ model: 'unused' }, 'hi', { agentId: 'flaky-local' })
    expect(result).toMatchObject({ text: 'From OpenAI.' })
    const log = (await runners.get('local').activity.detail('flaky-local')).log.map((entry) => entry.message)
    expect(log).toContain('Falling back to cloud: local model offline')
  })

  it('the adapter checks its own options: a bad one fails in createRunners, named', async () => {
    const path = await configFile({ a: { type: 'openai', apiKey: 'k', reportStatus: 'loudly' } })
    const error = await createRunners(await loadRunnerConfig(path, { env: {} }), { importPackage }).catch(
      (e) => e,
    )
    expect(error).toMatchObject({ name: 'InvalidOptionsError', field: 'reportStatus' })
    expect(ConfigError.isInstance(error)).toBe(false)
  })
})
