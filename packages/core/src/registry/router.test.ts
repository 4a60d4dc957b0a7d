import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { withFallback } from '../runner/with-fallback.js'
import { rejectionOf } from '../test/rejection-of.js'
import { createRouter, type RouteRule } from './router.js'
import { createRunners, defineRunnerConfig } from './runner-config.js'
import { createRegistry, UnknownRunnerError } from './runner-registry.js'
import { GreeterRunner } from './test-helpers/greeter-runner.js'

const registry = () => createRegistry().register('greeter', (options) => new GreeterRunner(options))
const agent = { model: 'agent-model' }

/** Tenants on the enterprise plan go to `careful`; long tasks to `careful` on the large model. */
const routes: RouteRule<string>[] = [
  (_input, metadata) => (metadata.plan === 'enterprise' ? 'careful' : undefined),
  (input, metadata) =>
    (metadata.taskSize === 'large' || input.length > 200) && { runner: 'careful', model: 'large-model' },
]

const config = defineRunnerConfig<string>({
  runners: {
    quick: { type: 'greeter', model: 'small-model' },
    careful: { type: 'greeter', model: 'medium-model', greeting: 'Good day' },
    spare: { type: 'greeter', model: 'spare-model', greeting: 'Hi' },
  },
  routes,
  default: 'quick',
})

describe('createRouter', () => {
  it('a rule on metadata (tenant plan, task size) picks the runner and the model of each run', async () => {
    const runners = await createRunners(config, { registry: registry() })
    const router = runners.router

    const enterprise = await router.run(agent, 'summarise', {
      agentId: 'route-1',
      metadata: { plan: 'enterprise' },
    })
    expect(enterprise).toMatchObject({ text: 'Good day from careful (medium-model): summarise' })

    const large = await router.run(agent, 'summarise', { metadata: { plan: 'free', taskSize: 'large' } })
    expect(large).toMatchObject({ text: 'Good day from careful (large-model): summarise' })

    const byInput = await router.run(agent, 'x'.repeat(201))
    expect(
      byInput.status === 'complete' && byInput.text.startsWith('Good day from careful (large-model)'),
    ).toBe(true)

    const fallthrough = await router.run(agent, 'summarise', { metadata: { plan: 'free' } })
    expect(fallthrough).toMatchObject({ text: 'Hello from quick (small-model): summarise' })

    // The route is on the run's trajectory and the run is one activity of the router.
    const trajectory = enterprise.status === 'complete' ? enterprise.trajectory : undefined
    expect(trajectory?.steps.find((step) => step.kind === 'note')?.data).toEqual({
      route: { runner: 'careful' },
    })
    const activity = await router.activity.detail('route-1')
    expect(activity).toMatchObject({ status: 'complete', metadata: { plan: 'enterprise' } })
  })

  it('route() tells where a run would go without running it', async () => {
    const runners = await createRunners(config, { registry: registry() })
    await expect(runners.router.route('hi', { taskSize: 'large' })).resolves.toEqual({
      runner: 'careful',
      model: 'large-model',
    })
    await expect(runners.router.route('hi')).resolves.toEqual({ runner: 'quick', model: undefined })
  })

  it('streams through the chosen runner', async () => {
    const runners = await createRunners(config, { registry: registry() })
    const stream = runners.router.runStreamed(agent, 'hi', { metadata: { plan: 'enterprise' } })
    const types: string[] = []
    for await (const event of stream) types.push(event.type)
    expect(types[0]).toBe('run-start')
    expect(types.at(-1)).toBe('run-end')
    expect(await stream.result).toMatchObject({ text: 'Good day from careful (medium-model): hi' })
  })

  it('composes with withFallback: a routed runner that fails falls back', async () => {
    const runners = await createRunners(
      {
        runners: {
          quick: { type: 'greeter', model: 'small-model' },
          careful: { type: 'greeter', down: true },
          spare: { type: 'greeter', model: 'spare-model', greeting: 'Hi' },
        },
        routes,
        default: 'quick',
      },
      { registry: registry() },
    )
    const runner = withFallback(runners.router, runners.get('spare'))
    const result = await runner.run(agent, 'hi', {
      agentId: 'route-fallback',
      metadata: { plan: 'enterprise' },
    })
    expect(result).toMatchObject({ text: 'Hi from spare (spare-model): hi' })
    const messages = (await runner.activity.detail('route-fallback')).log.map((entry) => entry.message)
    expect(messages).toContain('Falling back to spare: careful is down')
    // A route that does not fail never reaches the fallback.
    expect(await runner.run(agent, 'hi')).toMatchObject({ text: 'Hello from quick (small-model): hi' })
  })

  it('routes among runner instances; a model can only be chosen among runners made by createRunners', async () => {
    const router = createRouter<{ model: string }, string, string>({
      runners: { a: new GreeterRunner({ name: 'a' }), b: new GreeterRunner({ name: 'b', greeting: 'Yo' }) },
      routes: [
        (input) => (input === 'b' ? 'b' : undefined),
        (input) => (input === 'model' ? { runner: 'a', model: 'x' } : undefined),
      ],
      default: 'a',
    })
    expect(await router.run(agent, 'b')).toMatchObject({ text: 'Yo from b (agent-model): b' })
    expect(await router.run(agent, 'other')).toMatchObject({ text: 'Hello from a (agent-model): other' })
    const error = await rejectionOf(router.run(agent, 'model', { agentId: 'route-model' }))
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ field: 'route.model' })
    expect((await router.activity.detail('route-model')).status).toBe('error')
  })

  it('a rule that names an unknown runner fails the run with the known names', async () => {
    const runners = await createRunners(
      { runners: { quick: { type: 'greeter' } }, routes: [() => 'quik'] },
      { registry: registry() },
    )
    const error = await rejectionOf(runners.router.run(agent, 'hi'))
    expect(UnknownRunnerError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ suggestion: 'quick', known: ['quick'] })
  })

  it('refuses bad options up front, naming the field', () => {
    const runners = { a: new GreeterRunner() }
    expect(() => createRouter({ runners, default: 'z' })).toThrow('unknown runner "z"')
    expect(() => createRouter({ runners, default: { runner: '' } })).toThrow(InvalidOptionsError)
    expect(() => createRouter({ runners, routes: ['a' as never], default: 'a' })).toThrow(
      'routes: must be a list',
    )
    expect(() => createRouter({ runners: { a: {} as GreeterRunner }, default: 'a' })).toThrow(
      'runners.a: must be a runner',
    )
  })

  it('registered types take a model from a route; the built-in langchain and ai-sdk do not', async () => {
    const ownRegistry = createRegistry().register('greeter', (options) => new GreeterRunner(options))
    const runners = await createRunners({ runners: { a: { type: 'greeter' } } }, { registry: ownRegistry })
    // Registered types are assumed to take `model`; the built-in langchain and ai-sdk do not.
    expect(ownRegistry.takesModel('greeter')).toBe(true)
    expect(ownRegistry.takesModel('langchain')).toBe(false)
    expect(ownRegistry.takesModel('ai-sdk')).toBe(false)
    expect(runners.get('a', { model: 'm' })).toBeInstanceOf(GreeterRunner)
  })
})
