import { RunCanceledError, type RunEvent } from '@runner/core'
import { describe, expect, it } from 'vitest'
import {
  scriptedTinyModel,
  TinyAgent,
  type TinyModel,
  TinyModelError,
  type TinyTool,
} from './tiny-framework.ts'
import { TinyRunner } from './tiny-runner.ts'

// What the conformance suite cannot see from outside: the requests the framework's model gets.
const lookup: TinyTool<{ topic: string }> = {
  name: 'lookup',
  description: 'Looks a topic up.',
  parameters: { type: 'object', properties: { topic: { type: 'string' } }, required: ['topic'] },
  handler: ({ topic }) => `notes on ${topic}`,
}
const agentWith = (model: TinyAgent['model']) =>
  new TinyAgent({ name: 'tester', instructions: 'Be brief.', model, tools: [lookup] })

describe('TinyRunner translation', () => {
  it('offers report_status and the agent tools, with the reportStatus prompt', async () => {
    const model = scriptedTinyModel([{ content: 'hi' }])
    const runner = new TinyRunner()
    await runner.run(agentWith(model), 'hello')
    expect(model.requests[0]?.tools.map((tool) => tool.name)).toEqual(['report_status', 'lookup'])
    expect(model.requests[0]?.system).toBe(`Be brief.\n\n${runner.prompts.reportStatus}`)
    expect(model.requests[0]?.messages).toEqual([{ role: 'user', content: 'hello' }])
  })

  it('passes invalid JSON arguments on, so the model reads a validation error and the run goes on', async () => {
    const model = scriptedTinyModel([
      { toolCalls: [{ name: 'lookup', arguments: '{"topic": ' }] },
      { content: 'sorry' },
    ])
    const ended: boolean[] = []
    const result = await new TinyRunner().run(agentWith(model), 'q', {
      hooks: { onToolCallEnd: ({ isError }) => void ended.push(isError) },
    })
    expect(result.text).toBe('sorry')
    expect(ended).toEqual([true])
    const toolMessage = model.requests[1]?.messages.at(-1)
    expect(toolMessage).toMatchObject({ role: 'tool', callId: 'call_1_0' })
    expect(JSON.stringify(toolMessage)).toMatch(/Invalid input for tool \\"lookup\\".*expected object/)
  })

  it('the wrap-up turn offers no tools and asks for a final answer', async () => {
    const model = scriptedTinyModel([
      { toolCalls: [{ name: 'lookup', arguments: { topic: 'otters' } }] },
      { content: 'Summary.', toolCalls: [{ name: 'lookup', arguments: { topic: 'ignored' } }] },
    ])
    const runner = new TinyRunner()
    const result = await runner.run(agentWith(model), 'q', { maxTurns: 1, maxTurnsRecovery: true })
    expect(result).toMatchObject({ text: 'Summary.', maxTurnsReached: true, turns: 2 })
    expect(model.requests[1]?.tools).toEqual([])
    // The loop asks for the wrap-up as a user message; the report_status prompt is left out.
    expect(model.requests[1]?.system).toBe('Be brief.')
    expect(model.requests[1]?.messages.at(-1)).toEqual({ role: 'user', content: runner.prompts.wrapUp })
  })

  it('aborting the run aborts the model request itself, not only the wait for it', async () => {
    let sawAbort = false
    const hanging = {
      complete: ({ signal }: { signal?: AbortSignal }) =>
        new Promise<never>((_, reject) =>
          signal?.addEventListener('abort', () => {
            sawAbort = true
            reject(signal.reason)
          }),
        ),
    }
    const controller = new AbortController()
    const running = new TinyRunner().run(agentWith(hanging), 'q', { signal: controller.signal })
    setTimeout(() => controller.abort(), 20)
    await expect(running).rejects.toSatisfy(RunCanceledError.isInstance)
    expect(sawAbort).toBe(true)
  })

  it('a model without stream() still gives a streamed run its text, in one delta', async () => {
    const scripted = scriptedTinyModel([{ content: 'All in one piece.' }])
    const stream = new TinyRunner().runStreamed(agentWith({ complete: scripted.complete }), 'q')
    const deltas: RunEvent[] = []
    for await (const event of stream) if (event.type === 'text-delta') deltas.push(event)
    expect(deltas).toEqual([{ type: 'text-delta', text: 'All in one piece.' }])
  })

  it('retries what a retry may fix (503, a cut stream) and nothing else (400)', async () => {
    const retry = { initialDelayMs: 1, maxDelayMs: 1 }
    const cases: Array<[TinyModelError, number]> = [
      [new TinyModelError('overloaded', { status: 503 }), 2],
      [new TinyModelError('cut', { code: 'stream_interrupted' }), 2],
      [new TinyModelError('bad request', { status: 400 }), 1],
      [new TinyModelError('unreadable', { code: 'bad_response' }), 1],
    ]
    for (const [error, calls] of cases) {
      const model = scriptedTinyModel([error, { content: 'ok' }])
      await new TinyRunner({ retry }).run(agentWith(model), 'q').catch(() => undefined)
      expect(model.requests, error.message).toHaveLength(calls)
    }
  })

  it('repeats a failed model call in place: same turn, same conversation, the tool not run again', async () => {
    const topics: string[] = []
    const counting: TinyTool<{ topic: string }> = {
      ...lookup,
      handler: ({ topic }) => {
        topics.push(topic)
        return `notes on ${topic}`
      },
    }
    const model = scriptedTinyModel([
      { toolCalls: [{ name: 'lookup', arguments: { topic: 'otters' } }] },
      new TinyModelError('overloaded', { status: 503 }),
      { content: 'Otters hold paws.' },
    ])
    const agent = new TinyAgent({ name: 'tester', instructions: 'Be brief.', model, tools: [counting] })
    const runner = new TinyRunner({ retry: { initialDelayMs: 1, maxDelayMs: 1 } })
    const retries: Array<{ attempt: number; maxAttempts: number; restart: boolean }> = []
    const stream = runner.runStreamed(agent, 'q')
    for await (const event of stream) {
      if (event.type === 'retry') {
        retries.push({ attempt: event.attempt, maxAttempts: event.maxAttempts, restart: event.restart })
      }
    }
    const result = await stream.result
    expect(result).toMatchObject({ text: 'Otters hold paws.', attempts: 2, turns: 2 })
    expect(retries).toEqual([{ attempt: 2, maxAttempts: 3, restart: false }])
    expect(topics).toEqual(['otters'])
    expect(model.requests[2]).toEqual(model.requests[1])
    const retryLines = (await runner.activity.detail(result.agentId)).log.filter(
      (entry) => entry.kind === 'retry',
    )
    expect(retryLines).toMatchObject([
      { kind: 'retry', attempt: 2, status: 'running', message: 'Retrying (attempt 2 of 3): overloaded' },
    ])
  })

  it('never retries a streamed call whose text the reader already saw: the run fails', async () => {
    let calls = 0
    const cutAfterText: TinyModel = {
      complete: () => Promise.reject(new Error('not used: the run streams')),
      async *stream() {
        calls++
        yield { type: 'text', text: 'Otters hold ' }
        throw new TinyModelError('cut', { code: 'stream_interrupted' })
      },
    }
    const runner = new TinyRunner({ retry: { initialDelayMs: 1, maxDelayMs: 1 } })
    const stream = runner.runStreamed(agentWith(cutAfterText), 'q', { agentId: 'cut-after-text' })
    for await (const _event of stream) {
      // drain
    }
    await expect(stream.result).rejects.toThrow('cut')
    expect(calls).toBe(1)
    expect((await runner.activity.detail('cut-after-text')).status).toBe('error')
  })
})
