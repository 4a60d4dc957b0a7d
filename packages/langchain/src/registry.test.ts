import { InvalidOptionsError } from '@runner/core'
import { createRunners } from '@runner/core/registry'
import { describe, expect, it } from 'vitest'
import { LangChainRunner } from './langchain-runner.js'

/** How an application loads `@runner/langchain`: by its name, from its own module. */
const importPackage = (name: string) => import(name)

describe('LangChainRunner from a runner config', () => {
  it("is made by the built-in name 'langchain'; a route cannot choose its model (the agent holds it)", async () => {
    const runners = await createRunners(
      { runners: { graph: { type: 'langchain', maxTurns: 4 } } },
      { importPackage },
    )
    expect(runners.get('graph').constructor.name).toBe(LangChainRunner.name)
    expect(runners.get('graph').name).toBe('graph')
    let error: unknown
    try {
      runners.get('graph', { model: 'gpt-x' })
    } catch (caught) {
      error = caught
    }
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ field: 'route.model' })
    expect((error as Error).message).toContain('runner "graph" (langchain) takes its model from the agent')
  })
})
