import { InvalidOptionsError } from '@runner/core'
import { ScenarioPlayer, scenario } from '@runner/testkit'
import { type Agent, isStepCount, ToolLoopAgent, tool } from 'ai'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { AISDKAgent } from './agent.js'
import { AISDKRunner } from './ai-sdk-runner.js'
import { modes, promptText, rejectionOf, runIn } from './test-helpers/run-modes.js'
import { scenarioModel } from './test-helpers/scenario-model.js'

const agentModes = modes.filter((mode) => mode.kind === 'agent')

function lookupTool(seen: string[]) {
  return tool({
    description: 'Looks a topic up.',
    inputSchema: z.object({ topic: z.string() }),
    execute: async ({ topic }) => {
      seen.push(topic)
      return `notes on ${topic}`
    },
  })
}

describe.each(agentModes)('a ToolLoopAgent ($label)', ({ streamed }) => {
  it('keeps its prepareCall, call options, callbacks and id; the agent itself is not changed', async () => {
    const runner = new AISDKRunner()
    const seen: string[] = []
    const callbacks: string[] = []
    const lookup = lookupTool(seen)
    const player = new ScenarioPlayer(
      scenario().toolCall('lookup', { topic: 'otters' }).text('Otters are great.'),
    )
    const agent = new ToolLoopAgent({
      id: 'researcher',
      model: scenarioModel(player),
      instructions: 'You research.',
      tools: { lookup, report_status: runner.tools.reportStatus },
      callOptionsSchema: z.object({ audience: z.string() }),
      prepareCall: ({ options, ...settings }) => ({
        ...settings,
        instructions: `${settings.instructions} Write for ${options.audience}.`,
      }),
      prepareStep: ({ stepNumber }) => {
        callbacks.push(`prepareStep:${stepNumber}`)
        return undefined
      },
      onStepStart: ({ stepNumber }) => void callbacks.push(`onStepStart:${stepNumber}`),
      onStepEnd: ({ stepNumber }) => void callbacks.push(`onStepEnd:${stepNumber}`),
      onLanguageModelCallEnd: () => void callbacks.push('onLanguageModelCallEnd'),
    })
    const toolsBefore = agent.tools
    const { result } = await runIn(
      streamed,
      runner,
      agent,
      { prompt: 'Tell me about otters', options: { audience: 'children' } },
      { agentId: 'call-options' },
    )
    expect(result.text).toBe('Otters are great.')
    expect(seen).toEqual(['otters'])
    expect(promptText(player.calls[0]!.request)).toContain('You research. Write for children.')
    expect(callbacks).toEqual([
      'prepareStep:0',
      'onStepStart:0',
      'onLanguageModelCallEnd',
      'onStepEnd:0',
      'prepareStep:1',
      'onStepStart:1',
      'onLanguageModelCallEnd',
      'onStepEnd:1',
    ])
    expect((await runner.activity.detail('call-options')).agentType).toBe('researcher')
    // The runner ran a copy with its controls: the user's agent and tools are untouched.
    expect(agent.tools).toBe(toolsBefore)
    expect(agent.tools.lookup).toBe(lookup)
  })

  it('a prepareCall that replaces the tools is refused: the hooks would not see them', async () => {
    const runner = new AISDKRunner()
    const seen: string[] = []
    const player = new ScenarioPlayer(scenario().toolCall('lookup', { topic: 'x' }).text('done'))
    const agent = new ToolLoopAgent({
      model: scenarioModel(player),
      tools: { lookup: lookupTool([]) },
      prepareCall: (settings) => ({ ...settings, tools: { lookup: lookupTool(seen) } }),
    })
    const error = await rejectionOf(runIn(streamed, runner, agent, 'go', { agentId: 'replaced' }))
    expect(InvalidOptionsError.isInstance(error), String(error)).toBe(true)
    expect((error as InvalidOptionsError).field).toBe('agent.prepareCall')
    expect(String(error)).toContain('returned tools other than the ones it was given')
    expect(seen).toEqual([])
    expect((await runner.activity.detail('replaced')).status).toBe('error')
  })

  it('a prepareCall that drops the runner’s prepareStep is refused: turns would not be counted', async () => {
    const runner = new AISDKRunner()
    const player = new ScenarioPlayer(scenario().text('done'))
    const agent = new ToolLoopAgent({
      model: scenarioModel(player),
      // Builds its settings anew, without the prepareStep it received.
      prepareCall: ({ prepareStep: _dropped, ...settings }) => ({ ...settings, stopWhen: isStepCount(3) }),
    })
    const error = await rejectionOf(runIn(streamed, runner, agent, 'go'))
    expect(InvalidOptionsError.isInstance(error), String(error)).toBe(true)
    expect(String(error)).toContain('without the prepareStep it was given')
  })
})

describe('agents the runner refuses before anything starts', () => {
  it('another kind of AI SDK Agent, settings without a model, bad tools, stopWhen or prepareStep', async () => {
    const runner = new AISDKRunner()
    const custom: Agent = {
      version: 'agent-v1',
      id: 'custom',
      tools: {},
      generate: async () => {
        throw new Error('never')
      },
      stream: async () => {
        throw new Error('never')
      },
    }
    const model = scenarioModel(new ScenarioPlayer(scenario().text('x')))
    const cases: Array<[unknown, string]> = [
      [custom, 'agent'],
      [{ instructions: 'no model' }, 'agent.model'],
      [{ model, tools: [] }, 'agent.tools'],
      [{ model, tools: { search: 'nope' } }, 'agent.tools.search'],
      [{ model, stopWhen: 3 }, 'agent.stopWhen'],
      [{ model, prepareStep: 'soon' }, 'agent.prepareStep'],
      [null, 'agent'],
    ]
    for (const [agent, field] of cases) {
      const error = await rejectionOf(runner.run(agent as AISDKAgent, 'go', { agentId: `refused-${field}` }))
      expect(InvalidOptionsError.isInstance(error), `${field}: ${String(error)}`).toBe(true)
      expect((error as InvalidOptionsError).field).toBe(field)
      // Refused before the activity exists.
      expect(await runner.activity.store.get(`refused-${field}`)).toBeUndefined()
    }
  })
})
