import { expect } from 'vitest'
import { searchTool } from '../suite-tools.js'
import { drain, prompt, researchScenario, researchUsage, settles, start } from './case-helpers.js'
import type { ConformanceCase } from './conformance-case.js'

export const usageSummed: ConformanceCase = {
  id: 'usage.summed',
  group: 'usage and trajectory',
  title: 'usage is summed over turns and reported per turn',
  async run({ harness: make, settleMs, features }) {
    const { harness } = await make()
    const { agent } = await start(harness, researchScenario(), [searchTool().tool])
    if (features.streaming) {
      const stream = harness.runner.runStreamed(agent, harness.input(prompt))
      const events = await settles(drain(stream), settleMs, 'a streamed run’s events must end')
      const result = await stream.result
      expect(result.usage, 'result.usage sums the token usage of every turn').toMatchObject(researchUsage)
      const perTurn = events.flatMap((event) => (event.type === 'turn-end' ? [event.usage.totalTokens] : []))
      expect(
        perTurn.reduce((sum, value) => sum + value, 0),
        `each turn-end event carries that turn’s usage, and they add up to the run’s total (per turn: ${perTurn.join(', ')})`,
      ).toBe(researchUsage.totalTokens)
    } else {
      const result = await settles(
        harness.runner.run(agent, harness.input(prompt)),
        settleMs,
        'a successful run must resolve',
      )
      expect(result.usage, 'result.usage sums the token usage of every turn').toMatchObject(researchUsage)
    }
  },
}

export const trajectorySteps: ConformanceCase = {
  id: 'trajectory.steps',
  group: 'usage and trajectory',
  title: 'the trajectory records every model call and tool call, and is saved in the store',
  async run({ harness: make, settleMs }) {
    const { harness, activity } = await make()
    const { agent } = await start(harness, researchScenario(), [searchTool().tool])
    const result = await settles(
      harness.runner.run(agent, harness.input(prompt), { agentId: 'conf-trajectory' }),
      settleMs,
      'a successful run must resolve',
    )
    const steps = result.trajectory?.steps ?? []
    const kinds = `(steps: ${steps.map((step) => step.kind).join(', ')})`
    expect(
      steps.filter((step) => step.kind === 'model-call'),
      `the trajectory has one model-call step per model call (3 here) ${kinds}`,
    ).toHaveLength(3)
    const searchStep = steps.find((step) => step.kind === 'tool-call' && step.data.toolName === 'search')
    expect(
      searchStep?.data,
      'the trajectory has a tool-call step for each tool call, with its input, output and isError',
    ).toMatchObject({
      input: { query: 'otters' },
      output: 'results for otters',
      isError: false,
    })
    expect(
      steps.some((step) => step.kind === 'status'),
      `the trajectory records report_status updates as status steps ${kinds}`,
    ).toBe(true)
    expect(
      steps.map((step) => step.index),
      'trajectory steps are numbered in order from 0, without gaps (step.index 0, 1, 2, ...)',
    ).toEqual(steps.map((_, index) => index))
    expect(
      await activity.trajectory('conf-trajectory'),
      'the trajectory saved in the activity store equals result.trajectory',
    ).toEqual(result.trajectory)
  },
}
