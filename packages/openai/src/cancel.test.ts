import { defineTool, RunCanceledError, type RunEvent, RunTimeoutError } from '@runner/core'
import { type ProtocolFake, scenario, startProtocolFake } from '@runner/testkit'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { OpenAIRunner } from './openai-runner.js'
import { fakeClient } from './test-helpers/fake-client.js'
import { modes, rejectionOf, runIn } from './test-helpers/run-modes.js'

let fake: ProtocolFake | undefined
afterEach(() => fake?.close())

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within 3 s`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

const lookup = defineTool({
  name: 'lookup',
  description: 'Looks a topic up.',
  inputSchema: z.object({ topic: z.string() }),
  execute: ({ topic }) => `notes on ${topic}`,
})

describe('cancellation', () => {
  for (const { api, streamed, label } of modes) {
    describe(label, () => {
      for (const [where, script] of [
        ['the first request', scenario().hang()],
        [
          'a request after tool turns',
          scenario().toolCall('lookup', { topic: 'a' }).toolCall('lookup', { topic: 'b' }).hang(),
        ],
      ] as const) {
        it(`the run's signal reaches ${where}: aborting ends the HTTP call and the run is canceled`, async () => {
          fake = await startProtocolFake()
          const { model, player } = fake.play(script)
          const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
          const controller = new AbortController()
          const running = runIn(streamed, runner, { model, api, tools: [lookup] }, 'x', {
            agentId: 'hung',
            signal: controller.signal,
          })
          const hungCall = script.turns.length - 1
          await until(() => player.calls.length === script.turns.length, 'the hanging call')
          controller.abort()
          const error = await rejectionOf(running)
          expect(RunCanceledError.isInstance(error), String(error)).toBe(true)
          // The fake saw the client go away: the request itself was aborted, not left hanging.
          await until(() => player.calls[hungCall]?.signal?.aborted === true, 'the call’s abort')
          await until(() => fake?.pendingRequests === 0, 'no request left open')
          expect((await runner.activity.detail('hung')).status).toBe('canceled')
        })
      }

      it('timeoutMs aborts the call in flight: RunTimeoutError, activity error', async () => {
        fake = await startProtocolFake()
        const { model, player } = fake.play(scenario().hang())
        const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
        const error = await rejectionOf(
          runIn(streamed, runner, { model, api }, 'x', { agentId: 'slow', timeoutMs: 100 }),
        )
        expect(RunTimeoutError.isInstance(error), String(error)).toBe(true)
        await until(() => player.calls[0]?.signal?.aborted === true, 'the call’s abort')
        expect((await runner.activity.detail('slow')).status).toBe('error')
      })

      it('a tool that honours the signal ends the run canceled, never as an answer', async () => {
        fake = await startProtocolFake()
        let sawAbort = false
        const wait = defineTool({
          name: 'wait',
          description: 'Waits.',
          inputSchema: z.object({}),
          execute: (_input, { signal }) =>
            new Promise<string>((_, reject) =>
              signal.addEventListener('abort', () => {
                sawAbort = true
                reject(signal.reason)
              }),
            ),
        })
        const { model } = fake.play(scenario().toolCall('wait', {}).text('unreachable'))
        const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
        const controller = new AbortController()
        const running = runIn(streamed, runner, { model, api, tools: [wait] }, 'x', {
          agentId: 'tool-abort',
          signal: controller.signal,
          hooks: { onToolCallStart: () => void setTimeout(() => controller.abort(), 10) },
        })
        const error = await rejectionOf(running)
        expect(RunCanceledError.isInstance(error), String(error)).toBe(true)
        expect(sawAbort).toBe(true)
        expect((await runner.activity.detail('tool-abort')).status).toBe('canceled')
      })
    })
  }

  for (const api of ['chat', 'responses'] as const) {
    it(`${api}: an abort mid-stream (the raw stream ends silently) is a cancel, never a half answer`, async () => {
      fake = await startProtocolFake({ frameDelayMs: 20 })
      const { model } = fake.play(scenario().text('one two three four five six seven eight nine ten'))
      const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
      const stream = runner.runStreamed({ model, api }, 'x', { agentId: 'mid-stream' })
      const events: RunEvent[] = []
      for await (const event of stream) {
        events.push(event)
        if (event.type === 'text-delta' && event.text.includes('two')) stream.abort('user left')
      }
      const error = await rejectionOf(stream.result)
      expect(RunCanceledError.isInstance(error), String(error)).toBe(true)
      const types = events.map((event) => event.type)
      expect(types.at(-1)).toBe('run-error')
      expect(types).not.toContain('run-end')
      const text = events.flatMap((event) => (event.type === 'text-delta' ? [event.text] : [])).join('')
      expect(text).not.toContain('ten')
      await until(() => fake?.pendingRequests === 0, 'the stream’s request closed')
      expect((await runner.activity.detail('mid-stream')).status).toBe('canceled')
    })

    it(`${api}: a reader that stops mid-stream cancels the run and closes the request`, async () => {
      fake = await startProtocolFake({ frameDelayMs: 20 })
      const { model } = fake.play(scenario().text('one two three four five six seven eight nine ten'))
      const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
      const stream = runner.runStreamed({ model, api }, 'x', { agentId: 'reader-left' })
      for await (const event of stream) if (event.type === 'text-delta') break
      expect(RunCanceledError.isInstance(await rejectionOf(stream.result))).toBe(true)
      await until(() => fake?.pendingRequests === 0, 'the stream’s request closed')
      expect((await runner.activity.detail('reader-left')).status).toBe('canceled')
    })
  }
})
