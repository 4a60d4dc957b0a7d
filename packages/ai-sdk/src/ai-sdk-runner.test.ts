import { InvalidOptionsError } from '@runner/core'
import { REPORT_STATUS_RESULT } from '@runner/core/adapter'
import { ScenarioPlayer, scenario } from '@runner/testkit'
import type { ModelMessage, Tool } from 'ai'
import { describe, expect, it, vi } from 'vitest'
import { AISDKRunner } from './ai-sdk-runner.js'
import type { AISDKInput } from './input.js'
import { agentOf, modes, promptText, rejectionOf, runIn } from './test-helpers/run-modes.js'
import { scenarioModel, toolNamesOf } from './test-helpers/scenario-model.js'

describe('report_status and the prompts', () => {
  it('settings get the tool and prompts.reportStatus; the model’s call updates the activity', async () => {
    const runner = new AISDKRunner({ prompts: { reportStatus: 'REPORT YOUR STATUS.' } })
    const script = scenario().toolCall('report_status', { message: 'Reading', percentage: 25 }).text('Done.')
    const { agent, player } = agentOf('settings', runner, script, { instructions: 'Be brief.' })
    await runner.run(agent, 'go', { agentId: 'reports' })
    expect(toolNamesOf(player.calls[0]!.request)).toEqual(['report_status'])
    expect(promptText(player.calls[0]!.request)).toContain('Be brief.\\n\\nREPORT YOUR STATUS.')
    expect(promptText(player.calls[1]!.request)).toContain(REPORT_STATUS_RESULT)
    const log = (await runner.activity.detail('reports')).log
    expect(log.some((entry) => entry.message === 'Reading' && entry.percentage === 25)).toBe(true)
  })

  it("reportStatus: 'tool-only' adds the tool only, false neither; an agent’s own report_status is kept", async () => {
    const toolOnly = new AISDKRunner({ reportStatus: 'tool-only' })
    const first = agentOf('settings', toolOnly, scenario().text('x'), {
      instructions: [{ role: 'system', content: 'Own.' }],
    })
    await toolOnly.run(first.agent, 'go')
    expect(toolNamesOf(first.player.calls[0]!.request)).toEqual(['report_status'])
    expect(promptText(first.player.calls[0]!.request)).not.toContain(
      toolOnly.prompts.reportStatus.slice(0, 30),
    )

    const off = new AISDKRunner({ reportStatus: false })
    const second = agentOf('settings', off, scenario().text('x'))
    await off.run(second.agent, 'go')
    expect(toolNamesOf(second.player.calls[0]!.request)).toEqual([])
    expect(promptText(second.player.calls[0]!.request)).not.toContain(off.prompts.reportStatus.slice(0, 30))

    const own = new AISDKRunner()
    const mine = { ...own.tools.reportStatus, description: 'My own progress tool.' } as Tool
    const third = agentOf('settings', own, scenario().text('x'), {
      instructions: [{ role: 'system', content: 'Own message.' }],
      tools: { report_status: mine },
    })
    await own.run(third.agent, 'go')
    expect(JSON.stringify(third.player.calls[0]!.request)).toContain('My own progress tool.')
    // Instructions given as system messages get the prompt as one more system message.
    expect(promptText(third.player.calls[0]!.request)).toContain(own.prompts.reportStatus.slice(0, 30))
  })

  it('a ToolLoopAgent is not changed: no tool nor prompt is added', async () => {
    const runner = new AISDKRunner()
    const player = new ScenarioPlayer(scenario().text('x'))
    const { ToolLoopAgent } = await import('ai')
    await runner.run(new ToolLoopAgent({ model: scenarioModel(player), instructions: 'Mine.' }), 'go')
    expect(toolNamesOf(player.calls[0]!.request)).toEqual([])
    expect(promptText(player.calls[0]!.request)).not.toContain(runner.prompts.reportStatus.slice(0, 30))
  })

  it('runner.tools.reportStatus outside a run does nothing and answers as usual', async () => {
    const runner = new AISDKRunner()
    const execute = runner.tools.reportStatus.execute!
    const output = await execute(
      { message: 'x', percentage: 1 },
      { toolCallId: 't', messages: [], context: {} },
    )
    expect(output).toBe(REPORT_STATUS_RESULT)
  })
})

describe('settings of the runner', () => {
  it('refuses a bad reportStatus or maxRetries, and core’s unknown options', () => {
    expect(() => new AISDKRunner({ reportStatus: 'yes' as never })).toThrow(InvalidOptionsError)
    expect(() => new AISDKRunner({ maxRetries: -1 })).toThrow(/maxRetries: must be an integer, 0 or more/)
    expect(() => new AISDKRunner({ apiKey: 'x' } as never)).toThrow(InvalidOptionsError)
  })

  it('the AI SDK’s own retries are off, an agent’s maxRetries too: a failed request is made once', async () => {
    const runner = new AISDKRunner()
    for (const kind of ['agent', 'settings'] as const) {
      const { agent, player } = agentOf(kind, runner, scenario().error(500).text('Never asked.'), {
        maxRetries: 5,
      })
      const agentId = `no-sdk-retries-${kind}`
      const error = await rejectionOf(runner.run(agent, 'go', { agentId, retry: { attempts: 1 } }))
      expect(error).toMatchObject({ statusCode: 500 })
      expect(player.calls).toHaveLength(1)
      const detail = await runner.activity.detail(agentId)
      expect(detail.status).toBe('error')
      expect(detail.log.filter((entry) => entry.kind === 'retry')).toEqual([])
    }
  })

  it('agentType: the agent’s id, else the runner’s name', async () => {
    const runner = new AISDKRunner({ name: 'support-bot' })
    await runner.run(agentOf('settings', runner, scenario().text('x'), { id: 'triage' }).agent, 'go', {
      agentId: 'a',
    })
    await runner.run(agentOf('settings', runner, scenario().text('x')).agent, 'go', { agentId: 'b' })
    expect((await runner.activity.detail('a')).agentType).toBe('triage')
    expect((await runner.activity.detail('b')).agentType).toBe('support-bot')
  })
})

describe.each(modes)('input and output ($label)', ({ kind, streamed }) => {
  it('a string, messages, { prompt } or { messages }; the output continues the conversation', async () => {
    const runner = new AISDKRunner()
    const script = scenario().text('First answer.').text('Second answer.')
    const { agent, player } = agentOf(kind, runner, script)
    const first = await runIn(streamed, runner, agent, 'First question')
    const output = first.result.output
    expect(output.mode).toBe(streamed ? 'stream' : 'generate')
    expect(output.finishReason).toBe('stop')
    expect(output.steps).toHaveLength(1)
    expect(output.responseMessages).toEqual([
      { role: 'assistant', content: [{ type: 'text', text: 'First answer.' }] },
    ])
    const history: ModelMessage[] = [
      { role: 'user', content: 'First question' },
      ...output.responseMessages,
      { role: 'user', content: 'Second question' },
    ]
    const second = await runIn(streamed, runner, agent, { messages: history })
    expect(second.result.text).toBe('Second answer.')
    const sent = promptText(player.calls[1]!.request)
    expect(sent).toContain('First answer.')
    expect(sent).toContain('Second question')
    const native = second.result.output.result
    expect(
      streamed ? await (native as { text: PromiseLike<string> }).text : (native as { text: string }).text,
    ).toBe('Second answer.')
  })

  it('refuses an input that cannot start a run, before the activity exists', async () => {
    const runner = new AISDKRunner()
    const { agent } = agentOf(kind, runner, scenario().text('x'))
    const cases: Array<[unknown, string]> = [
      ['  ', 'input'],
      [[], 'input'],
      [{ prompt: 'a', messages: [{ role: 'user', content: 'b' }] }, 'input'],
      [{}, 'input'],
      [{ messages: [] }, 'input.messages'],
      [{ prompt: '' }, 'input.prompt'],
      [42, 'input'],
    ]
    if (kind === 'settings') cases.push([{ prompt: 'a', options: { x: 1 } }, 'input.options'])
    for (const [input, field] of cases) {
      const error = await rejectionOf(
        runIn(streamed, runner, agent, input as AISDKInput, { agentId: 'refused' }),
      )
      expect(InvalidOptionsError.isInstance(error), `${JSON.stringify(input)}: ${String(error)}`).toBe(true)
      expect((error as InvalidOptionsError).field).toBe(field)
    }
    expect(await runner.activity.store.get('refused')).toBeUndefined()
  })

  it('usage is summed once per model call (not again from the SDK’s total), over attempts too', async () => {
    const runner = new AISDKRunner()
    const script = scenario()
      .error(500)
      .toolCall('report_status', { message: 'Working', percentage: 50 })
      .usage({ inputTokens: 100, outputTokens: 20, cachedInputTokens: 60 })
      .text('Done.')
      .usage({ inputTokens: 130, outputTokens: 40, reasoningTokens: 25 })
    const { agent } = agentOf(kind, runner, script)
    const { result, events } = await runIn(streamed, runner, agent, 'go', {
      retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
    })
    expect(result.attempts).toBe(2)
    expect(result.usage).toEqual({
      inputTokens: 230,
      outputTokens: 60,
      totalTokens: 290,
      cachedInputTokens: 60,
      reasoningTokens: 25,
    })
    expect(result.output.totalUsage).toMatchObject({ inputTokens: 230, outputTokens: 60, totalTokens: 290 })
    const modelSteps = result.trajectory?.steps.filter((step) => step.kind === 'model-call') ?? []
    expect(modelSteps.map((step) => (step.data.usage as { totalTokens: number }).totalTokens)).toEqual([
      120, 170,
    ])
    if (streamed) {
      // The failed request was repeated in place, in its turn: each turn ends with its call's usage.
      const perTurn = events.flatMap((event) => (event.type === 'turn-end' ? [event.usage.totalTokens] : []))
      expect(perTurn).toEqual([120, 170])
      expect(events.filter((event) => event.type === 'retry')).toMatchObject([{ attempt: 2, restart: false }])
    }
  })

  it('the agent’s own callbacks (settings: deprecated aliases too) still run', async () => {
    const runner = new AISDKRunner()
    const seen: string[] = []
    const script = scenario().toolCall('report_status', { message: 'Working', percentage: 50 }).text('Done.')
    const { agent } = agentOf(kind, runner, script, {
      onStepFinish: ({ stepNumber }) => void seen.push(`step:${stepNumber}`),
      onLanguageModelCallEnd: ({ finishReason }) => void seen.push(`model:${finishReason}`),
      onToolExecutionEnd: ({ toolCall }) => void seen.push(`tool:${toolCall.toolName}`),
    })
    await runIn(streamed, runner, agent, 'go')
    expect(seen).toEqual(['model:tool-calls', 'tool:report_status', 'step:0', 'model:stop', 'step:1'])
  })

  it('the agent’s own onEnd (settings: its deprecated alias too) runs once; the output is the SDK’s', async () => {
    const runner = new AISDKRunner()
    const script = scenario().toolCall('report_status', { message: 'Working', percentage: 50 }).text('Done.')
    const ends: Array<{ text: string; steps: number }> = []
    const onEnd = ({ text, steps }: { text: string; steps: unknown[] }) =>
      void ends.push({ text, steps: steps.length })
    for (const callback of kind === 'settings' ? ['onEnd', 'onFinish'] : ['onEnd']) {
      ends.length = 0
      const { agent } = agentOf(kind, runner, script, { [callback]: onEnd })
      const { result } = await runIn(streamed, runner, agent, 'go')
      expect(ends).toEqual([{ text: 'Done.', steps: 2 }])
      expect(result.text).toBe('Done.')
      const output = result.output
      expect(output.steps).toHaveLength(2)
      expect(output.finishReason).toBe('stop')
      expect(output.responseMessages.map((message) => message.role)).toEqual([
        'assistant',
        'tool',
        'assistant',
      ])
      if (output.mode === 'stream') {
        // What the runner read from the end of the stream is what the SDK's own promises say.
        expect(output.steps).toEqual(await output.result.steps)
        expect(output.responseMessages).toEqual(await output.result.responseMessages)
        expect(output.totalUsage).toEqual(await output.result.totalUsage)
        expect(result.text).toBe(await output.result.text)
      }
    }
  })

  it('each tool’s input schema reaches the model as the AI SDK converts it', async () => {
    const runner = new AISDKRunner()
    const { asSchema, tool } = await import('ai')
    const { z } = await import('zod')
    const lookup = tool({
      description: 'Looks a word up.',
      inputSchema: z.object({ word: z.string().min(1), limit: z.number().int().optional() }),
      execute: async ({ word }) => `${word}: found`,
    })
    const script = scenario()
      .toolCall('lookup', { word: 'otter' })
      .text('Done.')
      .toolCall('lookup', { word: 'seal' })
      .text('Done.')
    const { agent, player } = agentOf(kind, runner, script, { tools: { lookup } })
    for (let run = 0; run < 2; run++) await runIn(streamed, runner, agent, 'go')
    const expected = await asSchema(lookup.inputSchema).jsonSchema
    for (const call of player.calls) {
      const sent = (call.request as { tools?: Array<{ name: string; inputSchema: unknown }> }).tools
      expect(sent?.find((each) => each.name === 'lookup')?.inputSchema).toEqual(expected)
    }
  })
})

describe('the AI SDK’s own console output', () => {
  it('a failed streamed run is reported by the run, not logged by the SDK', async () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const runner = new AISDKRunner()
      const { agent } = agentOf('settings', runner, scenario().error(400, 'Bad request'))
      await rejectionOf(runner.runStreamed(agent, 'go').result)
      expect(spy).not.toHaveBeenCalled()
    } finally {
      spy.mockRestore()
    }
  })
})
