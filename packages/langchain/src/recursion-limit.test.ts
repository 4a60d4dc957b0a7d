import { RunnableLambda } from '@langchain/core/runnables'
import { createAgent, createMiddleware, fakeModel } from 'langchain'
import { describe, expect, it } from 'vitest'
import { recursionLimitFor, stepsPerTurnOf } from './recursion-limit.js'

describe('the recursion limit of a run', () => {
  const graphLike = RunnableLambda.from(() => 'x')

  it('stepsPerTurn × (maxTurns + 1), 2 steps per turn by default', () => {
    expect(stepsPerTurnOf(graphLike, undefined)).toBe(2)
    expect(recursionLimitFor(graphLike, 10, 2)).toBe(22)
    expect(recursionLimitFor(graphLike, 1, 2)).toBe(4)
  })

  it('a createAgent agent adds one step per turn for each beforeModel / afterModel hook, and its agent hooks once', () => {
    const agent = createAgent({
      model: fakeModel(),
      tools: [],
      middleware: [
        createMiddleware({ name: 'A', beforeModel: () => undefined, afterModel: () => undefined }),
        createMiddleware({ name: 'B', beforeModel: () => undefined, beforeAgent: () => undefined }),
        createMiddleware({ name: 'C', afterAgent: () => undefined }),
      ],
    })
    expect(stepsPerTurnOf(agent, undefined)).toBe(5)
    expect(recursionLimitFor(agent, 10, 5)).toBe(5 * 11 + 2)
    expect(stepsPerTurnOf(createAgent({ model: fakeModel(), tools: [] }), undefined)).toBe(2)
  })

  it('the stepsPerTurn setting wins', () => {
    const agent = createAgent({ model: fakeModel(), tools: [] })
    expect(stepsPerTurnOf(agent, 7)).toBe(7)
    expect(stepsPerTurnOf(graphLike, 3)).toBe(3)
  })
})
