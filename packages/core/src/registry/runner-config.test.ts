// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text with ${ENV} references, not templates
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConfigError } from '../errors/config-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { rejectionOf } from '../test/rejection-of.js'
import { redactSecrets, resetSecrets } from '../util/secrets.js'
import { createRunners, defineRunnerConfig, loadRunnerConfig, parseRunnerConfig } from './runner-config.js'
import { createRegistry } from './runner-registry.js'
import { GreeterRunner } from './test-helpers/greeter-runner.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'runner-config-'))
})
afterEach(() => rm(dir, { recursive: true, force: true }))

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, text)
  return path
}

const registry = () => createRegistry().register('greeter', (options) => new GreeterRunner(options))
const agent = { model: 'agent-model' }

describe('loadRunnerConfig: JSON and YAML with ${ENV}', () => {
  it('reads a JSON file, fills ${NAME} and ${NAME:-default}, and its runners run', async () => {
    const path = await file(
      'runner.config.json',
      JSON.stringify({
        runners: {
          research: { type: 'greeter', model: '${RESEARCH_MODEL}', greeting: '${GREETING:-Hello}' },
          budget: { type: 'greeter', model: 'cost-$${PER}-token' },
        },
      }),
    )
    const config = await loadRunnerConfig(path, { env: { RESEARCH_MODEL: 'gpt-large' } })
    expect(config.runners.research).toEqual({ type: 'greeter', model: 'gpt-large', greeting: 'Hello' })
    expect(config.runners.budget?.model).toBe('cost-${PER}-token')

    const runners = await createRunners(config, { registry: registry() })
    expect(runners.names()).toEqual(['budget', 'research'])
    const result = await runners.get('research').run(agent, 'find otters')
    expect(result).toMatchObject({ status: 'complete', text: 'Hello from research (gpt-large): find otters' })
  })

  it('reads a YAML file the same way (YAML 1.2: "no" stays a string)', async () => {
    const path = await file(
      'runner.config.yaml',
      [
        'runners:',
        '  research:',
        '    type: greeter',
        '    model: ${RESEARCH_MODEL}',
        '    greeting: "${GREETING:-Hi} there"',
        '  polite:',
        '    type: greeter',
        '    greeting: no',
        '    maxTurns: 3',
        'default: polite',
      ].join('\n'),
    )
    const config = await loadRunnerConfig(path, { env: { RESEARCH_MODEL: 'claude-big', GREETING: 'Hey' } })
    expect(config).toEqual({
      runners: {
        research: { type: 'greeter', model: 'claude-big', greeting: 'Hey there' },
        polite: { type: 'greeter', greeting: 'no', maxTurns: 3 },
      },
      default: 'polite',
    })
    const runners = await createRunners(config, { registry: registry() })
    const result = await runners.get('research').run(agent, 'hi')
    expect(result).toMatchObject({ text: 'Hey there from research (claude-big): hi' })
  })

  it('a config file with a missing variable fails naming it and the key where it is used, never a value', async () => {
    const path = await file(
      'runner.config.json',
      JSON.stringify({
        runners: {
          research: { type: 'openai', apiKey: '${OPENAI_API_KEY}', baseURL: '${OPENAI_BASE_URL}' },
          backup: { type: 'claude', apiKey: '${ANTHROPIC_API_KEY}', defaultHeaders: { 'x-team': '${TEAM}' } },
        },
      }),
    )
    const env = {
      OPENAI_BASE_URL: 'https://gateway.example/v1',
      ANTHROPIC_API_KEY: 'sk-ant-secret-value',
      TEAM: '',
    }
    const error = await rejectionOf(loadRunnerConfig(path, { env }))
    expect(ConfigError.isInstance(error)).toBe(true)
    expect((error as ConfigError).issues).toEqual([
      { key: 'runners.research.apiKey', message: '${OPENAI_API_KEY} is not set' },
      { key: 'runners.backup.defaultHeaders.x-team', message: '${TEAM} is not set' },
    ])
    expect((error as Error).message).toBe(
      'Invalid configuration: runners.research.apiKey: ${OPENAI_API_KEY} is not set; runners.backup.defaultHeaders.x-team: ${TEAM} is not set',
    )
    expect((error as Error).message).not.toContain('sk-ant-secret-value')
    expect((error as Error).message).not.toContain('gateway.example')
  })

  it('registers the values of credential-named variables as secrets, so runs redact them', async () => {
    resetSecrets()
    const path = await file(
      'runner.config.json',
      JSON.stringify({
        runners: { a: { type: 'greeter', greeting: '${GATEWAY_TOKEN}', model: '${MODEL_NAME}' } },
      }),
    )
    await loadRunnerConfig(path, { env: { GATEWAY_TOKEN: 'tok-0123456789', MODEL_NAME: 'model-0123456789' } })
    expect(redactSecrets('sent tok-0123456789 to model-0123456789')).toBe(
      'sent [REDACTED] to model-0123456789',
    )
    resetSecrets()
  })

  it('refuses a malformed reference, naming the key', async () => {
    const path = await file(
      'runner.config.json',
      JSON.stringify({ runners: { a: { type: 'greeter', model: '${MODEL', greeting: '${1BAD}' } } }),
    )
    const error = await rejectionOf(loadRunnerConfig(path, { env: {} }))
    expect((error as ConfigError).issues).toEqual([
      {
        key: 'runners.a.model',
        message: 'has a "${" without its closing "}" (write "$${" for a literal "${")',
      },
      {
        key: 'runners.a.greeting',
        message: 'has ${1BAD}: write ${NAME} or ${NAME:-default}, NAME of letters, digits and "_"',
      },
    ])
  })

  it('reads process.env when no env is given', async () => {
    const path = await file(
      'runner.config.json',
      JSON.stringify({ runners: { a: { type: 'greeter', model: '${HOME}' } } }),
    )
    const config = await loadRunnerConfig(path)
    expect(config.runners.a?.model).toBe(process.env.HOME)
  })

  it('names the file that cannot be read or parsed, and an unknown extension', async () => {
    const broken = await file('runner.config.json', '{ "runners": ')
    expect((await rejectionOf(loadRunnerConfig(broken))) as ConfigError).toMatchObject({
      issues: [{ key: broken, message: expect.stringMatching(/^is not valid JSON: /) }],
    })
    const yaml = await file('runner.config.yml', 'runners: [unclosed')
    expect((await rejectionOf(loadRunnerConfig(yaml))) as ConfigError).toMatchObject({
      issues: [{ key: yaml, message: expect.stringMatching(/^is not valid YAML: /) }],
    })
    const missing = join(dir, 'absent.json')
    expect(await rejectionOf(loadRunnerConfig(missing))).toMatchObject({
      issues: [{ key: missing, message: expect.stringMatching(/^cannot be read: .*ENOENT/) }],
    })
    const toml = await file('runner.config.toml', '')
    expect(await rejectionOf(loadRunnerConfig(toml))).toMatchObject({
      issues: [{ key: toml, message: 'must end in .ts, .mts, .js, .mjs, .json, .yaml or .yml' }],
    })
  })
})

describe('loadRunnerConfig: runner.config.ts', () => {
  it('imports the default export of a code config, routes included', async () => {
    const config = await loadRunnerConfig<string>(
      new URL('./test-helpers/runner.config.ts', import.meta.url).pathname,
    )
    expect(Object.keys(config.runners)).toEqual(['quick', 'careful'])
    expect(config.routes).toHaveLength(2)
    const runners = await createRunners(config, { registry: registry() })
    const acme = await runners.router.run(agent, 'hi', { metadata: { tenant: 'acme' } })
    expect(acme).toMatchObject({ text: 'Good day from careful (large): hi' })
    const other = await runners.router.run(agent, 'hi', { metadata: { tenant: 'globex' } })
    expect(other).toMatchObject({ text: 'Hello from quick (small): hi' })
  })

  it('refuses a module without a default export', async () => {
    const path = await file('runner.config.mjs', 'export const runners = {}\n')
    expect(await rejectionOf(loadRunnerConfig(path))).toMatchObject({
      issues: [{ key: path, message: 'has no default export: export default defineRunnerConfig({ ... })' }],
    })
  })
})

describe('config validation: errors name the key path', () => {
  it('suggests the key meant by a misspelt one', () => {
    const error = rejectionOfSync(() =>
      parseRunnerConfig({ runnrs: { a: { type: 'openai' } }, defualt: 'a' }),
    )
    expect(error.issues).toEqual([
      { key: 'runners', message: 'is required: an object of named runners { name: { type, ...options } }' },
      {
        key: 'runnrs',
        message: 'is not a config key (did you mean "runners"?); known: runners, routes, default',
      },
      {
        key: 'defualt',
        message: 'is not a config key (did you mean "default"?); known: runners, routes, default',
      },
    ])
  })

  it('names a misspelt type or fallback inside a runner, and a runner without type', () => {
    const error = rejectionOfSync(() =>
      parseRunnerConfig({
        runners: {
          a: { tpye: 'openai', model: 'm' },
          b: { type: 'openai', fallbak: ['a'] },
          c: { model: 'm' },
        },
      }),
    )
    expect(error.issues).toEqual(
      expect.arrayContaining([
        { key: 'runners.a.tpye', message: 'is not a config key (did you mean "type"?)' },
        { key: 'runners.b.fallbak', message: 'is not a config key (did you mean "fallback"?)' },
        { key: 'runners.c.type', message: 'is required: a runner type such as "openai"' },
      ]),
    )
  })

  it('names bad values: an empty runner list, a bad runner name, a bad default, routes that are not functions', () => {
    expect(rejectionOfSync(() => parseRunnerConfig({ runners: {} })).issues).toEqual([
      { key: 'runners', message: 'must name at least one runner' },
    ])
    expect(
      rejectionOfSync(() => parseRunnerConfig({ runners: { 'has space': { type: 'openai' } } })).issues[0],
    ).toMatchObject({ key: 'runners.has space' })
    expect(
      rejectionOfSync(() =>
        parseRunnerConfig({ runners: { a: { type: 'openai' } }, default: { runer: 'a' } }),
      ).issues,
    ).toEqual([{ key: 'default', message: 'must be a runner name or { runner, model? }' }])
    expect(
      rejectionOfSync(() => parseRunnerConfig({ runners: { a: { type: 'openai' } }, routes: ['a'] })).issues,
    ).toEqual([{ key: 'routes.0', message: 'must be a function (input, metadata) => target' }])
  })

  it('createRunners names an unknown type with a suggestion, unknown fallbacks, and fallback cycles', async () => {
    const unknownType = await rejectionOf(
      createRunners({ runners: { research: { type: 'greter' } } }, { registry: registry() }),
    )
    expect(ConfigError.isInstance(unknownType)).toBe(true)
    expect((unknownType as ConfigError).issues).toEqual([
      {
        key: 'runners.research.type',
        message:
          'unknown runner type "greter" (did you mean "greeter"?); known: ai-sdk, claude, greeter, langchain, openai',
      },
    ])

    const unknownFallback = await rejectionOf(
      createRunners(
        { runners: { research: { type: 'greeter', fallback: ['bakup'] }, backup: { type: 'greeter' } } },
        { registry: registry() },
      ),
    )
    expect((unknownFallback as ConfigError).issues).toEqual([
      {
        key: 'runners.research.fallback.0',
        message: 'unknown runner "bakup" (did you mean "backup"?); known: backup, research',
      },
    ])

    const cycle = await rejectionOf(
      createRunners(
        {
          runners: {
            a: { type: 'greeter', fallback: ['b'] },
            b: { type: 'greeter', fallback: ['a'] },
          },
        },
        { registry: registry() },
      ),
    )
    expect((cycle as ConfigError).issues).toEqual([
      { key: 'runners.b.fallback', message: 'makes a cycle: a > b > a' },
    ])
  })

  it("a runner's bad option fails in createRunners, named by its constructor", async () => {
    const error = await rejectionOf(
      createRunners({ runners: { a: { type: 'greeter', maxTurns: 'ten' } } }, { registry: registry() }),
    )
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ field: 'maxTurns' })
  })

  it("without a registry, a user's own type is unknown: the default registry knows the built-ins only", async () => {
    const error = await rejectionOf(
      createRunners(defineRunnerConfig({ runners: { a: { type: 'greeter' } } })),
    )
    expect(ConfigError.isInstance(error)).toBe(true)
    expect((error as ConfigError).issues[0]).toMatchObject({
      key: 'runners.a.type',
      message: expect.stringContaining('known: ai-sdk, claude, langchain, openai'),
    })
  })
})

describe('createRunners', () => {
  it('gives every runner the shared defaults (one activity tracker) and its entry name', async () => {
    const first = new GreeterRunner()
    const runners = await createRunners(
      { runners: { a: { type: 'greeter' }, b: { type: 'greeter', name: 'bee' } } },
      { registry: registry(), defaults: { activity: first.activity } },
    )
    expect(runners.get('a').name).toBe('a')
    expect(runners.get('b').name).toBe('bee')
    await runners.get('a').run(agent, 'one', { agentId: 'shared-a' })
    await runners.get('b').run(agent, 'two', { agentId: 'shared-b' })
    expect((await first.activity.detail('shared-a')).status).toBe('complete')
    expect((await first.activity.detail('shared-b')).agentType).toBe('bee')
  })

  it("a runner's fallback list makes it fall back to the named runners, logged on its activity", async () => {
    const runners = await createRunners(
      {
        runners: {
          primary: { type: 'greeter', down: true, fallback: ['secondary'] },
          secondary: { type: 'greeter', model: 'spare' },
        },
      },
      { registry: registry() },
    )
    const runner = runners.get('primary')
    const result = await runner.run(agent, 'hi', { agentId: 'config-fallback' })
    expect(result).toMatchObject({ text: 'Hello from secondary (spare): hi' })
    const messages = (await runner.activity.detail('config-fallback')).log.map((entry) => entry.message)
    expect(messages).toContain('Falling back to secondary: primary is down')
  })

  it('get() with a model makes (once) a runner of that entry for the model', async () => {
    const runners = await createRunners(
      { runners: { a: { type: 'greeter', model: 'm1' } } },
      { registry: registry() },
    )
    const big = runners.get('a', { model: 'm2' })
    expect(big).toBe(runners.get('a', { model: 'm2' }))
    expect(big).not.toBe(runners.get('a'))
    expect(await big.run(agent, 'x')).toMatchObject({ text: 'Hello from a (m2): x' })
    expect(() => runners.get('b')).toThrow('unknown runner "b"')
  })
})

function rejectionOfSync(act: () => unknown): ConfigError {
  try {
    act()
  } catch (error) {
    expect(ConfigError.isInstance(error)).toBe(true)
    return error as ConfigError
  }
  throw new Error('expected a ConfigError')
}
