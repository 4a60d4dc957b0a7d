import { BudgetExceededError, MaxTurnsExceededError } from '@runner/core'
import { ScenarioPlayer, scenario } from '@runner/testkit'
import { hasToolCall, isStepCount, ToolLoopAgent } from 'ai'
import { describe, expect, it } from 'vitest'
import { AISDKRunner } from './ai-sdk-runner.js'
import { searchTools } from './test-helpers/neutral-tools.js'
import { agentOf, modes, promptText, rejectionOf, runIn } from './test-helpers/run-modes.js'
import { scenarioModel, toolNamesOf } from './test-helpers/scenario-model.js'

const searches = (count: number) => {
  let script = scenario()
  for (let index = 0; index < count; index++) script = script.toolCall('search', { query: `q${index}` })
  return script
}

describe.each(modes)('turn limits ($label)', ({ kind, streamed }) => {
  it('maxTurns: MaxTurnsExceededError after exactly maxTurns model calls, activity error', async () => {
    const runner = new AISDKRunner()
    const { tools, queries } = searchTools()
    const { agent, player } = agentOf(kind, runner, searches(5), { tools })
    const error = await rejectionOf(runIn(streamed, runner, agent, 'go', { agentId: 'limit', maxTurns: 3 }))
    expect(MaxTurnsExceededError.isInstance(error), String(error)).toBe(true)
    expect((error as MaxTurnsExceededError).maxTurns).toBe(3)
    expect(player.calls).toHaveLength(3)
    // The tools of the last allowed turn ran; nothing after it.
    expect(queries).toEqual(['q0', 'q1', 'q2'])
    expect((await runner.activity.detail('limit')).status).toBe('error')
  })

  it('budget.maxTokens: BudgetExceededError before the call that would go past it, not the turn limit', async () => {
    const runner = new AISDKRunner()
    const { tools, queries } = searchTools()
    // 15 tokens a call: 30 after two calls, so the third is not made.
    const { agent, player } = agentOf(kind, runner, searches(5), { tools })
    const error = await rejectionOf(
      runIn(streamed, runner, agent, 'go', { agentId: 'budget', budget: { maxTokens: 30 } }),
    )
    expect(BudgetExceededError.isInstance(error), String(error)).toBe(true)
    expect(error).toMatchObject({ budget: 'maxTokens', limit: 30, spent: 30 })
    expect(player.calls).toHaveLength(2)
    expect(queries).toEqual(['q0', 'q1'])
    expect((await runner.activity.detail('budget')).status).toBe('error')
  })

  it("budget onExceeded 'wrap-up': one call without tools, its answer is the result", async () => {
    const runner = new AISDKRunner()
    const { tools } = searchTools()
    const { agent, player } = agentOf(kind, runner, searches(2).text('Here is what I found.'), { tools })
    const { result } = await runIn(streamed, runner, agent, 'go', {
      budget: { maxTokens: 30, onExceeded: 'wrap-up' },
    })
    expect(result).toMatchObject({
      text: 'Here is what I found.',
      budgetExceeded: true,
      maxTurnsReached: false,
    })
    player.assertDone()
    expect(toolNamesOf(player.calls[2]!.request)).toEqual([])
  })

  it('the user’s stopWhen comes first: the loop stops there and the run completes', async () => {
    const runner = new AISDKRunner()
    const { tools } = searchTools()
    const { agent, player } = agentOf(kind, runner, searches(5), { tools, stopWhen: isStepCount(2) })
    const { result } = await runIn(streamed, runner, agent, 'go', { maxTurns: 4 })
    expect(player.calls).toHaveLength(2)
    expect(result.turns).toBe(2)
    expect(result.output.steps).toHaveLength(2)
    expect(result.output.finishReason).toBe('tool-calls')
    expect(result.maxTurnsReached).toBe(false)
  })

  it('the user’s stopWhen at the same step as maxTurns: the user’s condition wins (complete)', async () => {
    const runner = new AISDKRunner()
    const { tools } = searchTools()
    const { agent, player } = agentOf(kind, runner, searches(3), { tools, stopWhen: isStepCount(2) })
    const { result } = await runIn(streamed, runner, agent, 'go', { maxTurns: 2 })
    expect(player.calls).toHaveLength(2)
    expect(result.status).toBe('complete')
    expect(result.turns).toBe(2)
  })

  it('a stop condition such as hasToolCall ends the loop on the call it names', async () => {
    const runner = new AISDKRunner()
    const { tools, queries } = searchTools()
    const { agent, player } = agentOf(kind, runner, searches(3), { tools, stopWhen: hasToolCall('search') })
    const { result } = await runIn(streamed, runner, agent, 'go', { maxTurns: 5 })
    expect(player.calls).toHaveLength(1)
    expect(queries).toEqual(['q0'])
    expect(result.output.steps).toHaveLength(1)
  })

  it('maxTurnsRecovery: the wrap-up turn offers no tools, asks for the answer, and its answer is the result', async () => {
    const runner = new AISDKRunner({ prompts: { wrapUp: 'WRAP UP NOW, no more tools.' } })
    const { tools } = searchTools()
    const script = searches(2).text('Here is what I found.')
    const { agent, player } = agentOf(kind, runner, script, { tools, instructions: 'Be brief.' })
    const { result, events } = await runIn(streamed, runner, agent, 'go', {
      agentId: 'recovery',
      maxTurns: 2,
      maxTurnsRecovery: true,
    })
    expect(result.text).toBe('Here is what I found.')
    expect(result.maxTurnsReached).toBe(true)
    expect(result.turns).toBe(3)
    player.assertDone()
    const wrapUp = player.calls[2]!.request
    expect(toolNamesOf(wrapUp)).toEqual([])
    const text = promptText(wrapUp)
    expect(text).toContain('WRAP UP NOW, no more tools.')
    // Tool calls and results of earlier turns travel as text: no tool blocks without tools.
    expect(text).toContain('[Called tool search with {\\"query\\":\\"q0\\"}]')
    expect(text).toContain('[Result of search: results for q0]')
    expect(text).not.toContain('"type":"tool-call"')
    expect(text).not.toContain('"type":"tool-result"')
    // The instructions keep the agent's own; the report_status prompt (settings) is dropped.
    expect(text).toContain('Be brief.')
    expect(text).not.toContain(runner.prompts.reportStatus.slice(0, 40))
    expect(toolNamesOf(player.calls[1]!.request)).toContain('search')
    if (streamed) {
      const wrapUps = events.flatMap((event) => (event.type === 'turn-start' ? [event.wrapUp] : []))
      expect(wrapUps).toEqual([false, false, true])
    }
    const log = (await runner.activity.detail('recovery')).log.map((entry) => entry.message)
    expect(log).toContain('Reached the turn limit (2); asking the agent to wrap up')
  })

  it('maxTurnsRecovery that does not help: MaxTurnsExceededError after maxTurns + recoveryTurns calls', async () => {
    const runner = new AISDKRunner()
    const { tools, queries } = searchTools()
    const { agent, player } = agentOf(kind, runner, searches(6), { tools })
    const error = await rejectionOf(
      runIn(streamed, runner, agent, 'go', { maxTurns: 2, maxTurnsRecovery: true, recoveryTurns: 2 }),
    )
    expect(MaxTurnsExceededError.isInstance(error), String(error)).toBe(true)
    expect(player.calls).toHaveLength(4)
    // The wrap-up turns offer no tools: the model's calls there are not run.
    expect(queries).toEqual(['q0', 'q1'])
  })
})

describe('a ToolLoopAgent’s own stopWhen', () => {
  it('without one, the AI SDK’s default isStepCount(20) and maxTurns: whichever comes first', async () => {
    const runner = new AISDKRunner()
    const { tools } = searchTools()
    const player = new ScenarioPlayer(searches(25))
    const agent = new ToolLoopAgent({ model: scenarioModel(player), tools })
    const error = await rejectionOf(runner.run(agent, 'go', { maxTurns: 5 }))
    expect(MaxTurnsExceededError.isInstance(error)).toBe(true)
    expect(player.calls).toHaveLength(5)

    const more = new ScenarioPlayer(searches(25))
    const result = await runner.run(new ToolLoopAgent({ model: scenarioModel(more), tools }), 'go', {
      maxTurns: 30,
    })
    expect(more.calls).toHaveLength(20)
    expect(result.turns).toBe(20)
  })

  it('its prepareStep still runs for every turn, and the wrap-up overrides it', async () => {
    const runner = new AISDKRunner()
    const { tools } = searchTools()
    const steps: number[] = []
    const player = new ScenarioPlayer(searches(2).text('done'))
    const agent = new ToolLoopAgent({
      model: scenarioModel(player),
      tools,
      prepareStep: ({ stepNumber }) => {
        steps.push(stepNumber)
        return { activeTools: ['search'] }
      },
    })
    const result = await runner.run(agent, 'go', { maxTurns: 2, maxTurnsRecovery: true })
    expect(result.text).toBe('done')
    expect(steps).toEqual([0, 1, 2])
    expect(toolNamesOf(player.calls[0]!.request)).toEqual(['search'])
    expect(toolNamesOf(player.calls[2]!.request)).toEqual([])
  })
})
