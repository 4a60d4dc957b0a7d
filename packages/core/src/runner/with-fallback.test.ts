import { describe, expect, it } from 'vitest'
import { createActivityTracker } from '../activity/tracker.js'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { ScriptedModel, ScriptedRunner } from '../test/scripted-runner.js'
import { withFallback } from './with-fallback.js'

const overloaded = () => Object.assign(new Error('529 Overloaded'), { status: 529 })

describe('withFallback', () => {
  it('runs the next runner on the same agentId when the primary fails, and logs why', async () => {
    const activity = createActivityTracker()
    const primary = new ScriptedRunner({ activity, name: 'claude' })
    const secondary = new ScriptedRunner({ activity, name: 'openai' })
    const primaryModel = new ScriptedModel([{ error: overloaded() }])
    const secondaryModel = new ScriptedModel([
      { text: 'answered by the fallback', usage: { inputTokens: 3, outputTokens: 2 } },
    ])
    const runner = withFallback(
      { runner: primary, agent: { model: primaryModel } },
      { runner: secondary, agent: { model: secondaryModel } },
    )

    // One attempt: the primary's overload goes straight to the fallback (no in-place retry first).
    const result = await runner.run({ model: new ScriptedModel([]) }, 'question', {
      agentId: 'fb1',
      retry: { attempts: 1 },
    })
    expect(result.text).toBe('answered by the fallback')
    expect(result.turns).toBe(1)
    expect(result.usage.totalTokens).toBe(5)
    const detail = await activity.detail('fb1')
    expect(detail.status).toBe('complete')
    expect(detail.log.map((entry) => [entry.kind, entry.message])).toEqual([
      ['lifecycle', 'Waiting to start'],
      ['lifecycle', 'Started'],
      ['fallback', 'Falling back to openai: 529 Overloaded'],
      ['lifecycle', 'Complete'],
    ])
    expect(result.trajectory?.steps.some((step) => step.kind === 'fallback')).toBe(true)
  })

  it('shares one agent definition across runners', async () => {
    const model = new ScriptedModel([{ error: overloaded() }, { text: 'second runner, same agent' }])
    const runner = withFallback(new ScriptedRunner({ name: 'a' }), new ScriptedRunner({ name: 'b' }))
    const result = await runner.run({ model }, 'q')
    expect(result.text).toBe('second runner, same agent')
    expect(runner.name).toBe('a > b')
  })

  it('fails with the last error when every runner fails', async () => {
    const activity = createActivityTracker()
    const runner = withFallback(new ScriptedRunner({ activity }), new ScriptedRunner({ activity }))
    const model = new ScriptedModel([{ error: new Error('first') }, { error: new Error('second') }])
    await expect(runner.run({ model }, 'q', { agentId: 'fb2' })).rejects.toThrow('second')
    expect((await activity.detail('fb2')).status).toBe('error')
  })

  it('every runner of the chain validates its agent before the run starts', async () => {
    class StrictRunner extends ScriptedRunner {
      protected override validate(agent: { model: ScriptedModel }) {
        if (agent.model.steps.length === 0) {
          throw new InvalidOptionsError([{ field: 'agent.model', message: 'has an empty script' }])
        }
      }
    }
    const activity = createActivityTracker()
    const runner = withFallback(
      { runner: new ScriptedRunner({ activity }), agent: { model: new ScriptedModel([{ text: 'a' }]) } },
      { runner: new StrictRunner({ activity }), agent: { model: new ScriptedModel([]) } },
    )
    const error = await runner.run({ model: new ScriptedModel([]) }, 'q', { agentId: 'fb4' }).catch((e) => e)
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect(await activity.store.get('fb4')).toBeUndefined()
  })

  it('does not fall back on cancellation', async () => {
    const activity = createActivityTracker()
    const runner = withFallback(new ScriptedRunner({ activity }), new ScriptedRunner({ activity }))
    const controller = new AbortController()
    const model = new ScriptedModel([{ hang: true }, { text: 'must not run' }])
    const promise = runner.run({ model }, 'q', { agentId: 'fb3', signal: controller.signal })
    setTimeout(() => controller.abort(), 10)
    await expect(promise).rejects.toSatisfy(RunCanceledError.isInstance)
    expect(model.calls).toHaveLength(1)
    expect((await activity.detail('fb3')).status).toBe('canceled')
  })
})
