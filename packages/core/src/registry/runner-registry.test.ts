import { describe, expect, it } from 'vitest'
import { ConfigError } from '../errors/config-error.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { rejectionOf } from '../test/rejection-of.js'
import { BUILT_IN_RUNNERS, createRegistry, UnknownRunnerError } from './runner-registry.js'
import { GreeterRunner } from './test-helpers/greeter-runner.js'

describe('createRegistry', () => {
  it("creates a user's own runner by name with its options, beside the built-in names", async () => {
    const registry = createRegistry().register('greeter', (options) => new GreeterRunner(options))
    expect(registry.names()).toEqual(['ai-sdk', 'claude', 'greeter', 'langchain', 'openai'])
    expect(BUILT_IN_RUNNERS).toEqual(['openai', 'claude', 'langchain', 'ai-sdk'])

    const runner = await registry.create('greeter', { name: 'front-desk', greeting: 'Welcome', model: 'm1' })
    expect(runner).toBeInstanceOf(GreeterRunner)
    const result = await runner.run({ model: 'ignored' }, 'hi', { agentId: 'registry-own' })
    expect(result).toMatchObject({ status: 'complete', text: 'Welcome from front-desk (m1): hi' })
    expect((await runner.activity.detail('registry-own')).status).toBe('complete')
  })

  it('refuses an unknown name with the known names and the close one', async () => {
    const registry = createRegistry().register('greeter', (options) => new GreeterRunner(options))
    const error = await rejectionOf(registry.create('opnai'))
    expect(UnknownRunnerError.isInstance(error)).toBe(true)
    expect(ConfigError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({
      runner: 'opnai',
      suggestion: 'openai',
      known: ['ai-sdk', 'claude', 'greeter', 'langchain', 'openai'],
      issues: [{ key: 'type' }],
    })
    expect((error as Error).message).toBe(
      'Invalid configuration: type: unknown runner type "opnai" (did you mean "openai"?); known: ai-sdk, claude, greeter, langchain, openai',
    )
    // A name far from every known one gets the list without a guess.
    const far = await rejectionOf(registry.create('bedrock-agents'))
    expect(far).toMatchObject({ suggestion: undefined })
    expect((far as Error).message).not.toContain('did you mean')
  })

  it('refuses a second registration of a name, a bad name, and a factory that returns no runner', async () => {
    const registry = createRegistry().register('greeter', (options) => new GreeterRunner(options))
    expect(() => registry.register('greeter', (options) => new GreeterRunner(options))).toThrow(
      'name: "greeter" is registered already',
    )
    expect(() => registry.register('has space', (options) => new GreeterRunner(options))).toThrow(
      InvalidOptionsError,
    )
    registry.register('broken', () => ({}) as GreeterRunner)
    const error = await rejectionOf(registry.create('broken'))
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ field: 'broken' })
  })

  it('lets a registration replace a built-in name', async () => {
    const registry = createRegistry().register('openai', (options) => new GreeterRunner(options))
    const runner = await registry.create('openai', { name: 'local' })
    expect(runner).toBeInstanceOf(GreeterRunner)
    expect(registry.names().filter((name) => name === 'openai')).toHaveLength(1)
  })

  it("passes the runner's options to its constructor, which checks them", async () => {
    const registry = createRegistry().register('greeter', (options) => new GreeterRunner(options))
    const error = await rejectionOf(registry.create('greeter', { maxTurns: -1 }))
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ field: 'maxTurns' })
  })
})
