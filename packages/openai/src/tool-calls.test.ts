import { defineTool, type ToolCallInfo } from '@runner/core'
import { searchTool } from '@runner/core/test'
import { type ProtocolFake, type RecordedRequest, scenario, startProtocolFake } from '@runner/testkit'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { OpenAIRunner } from './openai-runner.js'
import { fakeClient } from './test-helpers/fake-client.js'
import { breakToolArguments, rewritingFetch } from './test-helpers/rewriting-fetch.js'
import { modes, runIn } from './test-helpers/run-modes.js'

let fake: ProtocolFake
beforeEach(async () => {
  fake = await startProtocolFake()
})
afterEach(() => fake.close())

/** The tool results the model read in a request, whatever the API. */
function toolResultsIn(request: RecordedRequest | undefined): Array<{ id: string; output: string }> {
  const body = request?.body ?? {}
  if (Array.isArray(body.messages)) {
    return (body.messages as Array<{ role: string; tool_call_id?: string; content?: string }>)
      .filter((message) => message.role === 'tool')
      .map((message) => ({ id: message.tool_call_id ?? '', output: String(message.content) }))
  }
  return ((body.input ?? []) as Array<{ type?: string; call_id?: string; output?: string }>)
    .filter((item) => item.type === 'function_call_output')
    .map((item) => ({ id: item.call_id ?? '', output: String(item.output) }))
}

describe('tool calls', () => {
  for (const { api, streamed, label } of modes) {
    describe(label, () => {
      it('arguments that are not JSON give the model a validation error and the run continues', async () => {
        const { model, player } = fake.play(scenario().toolCall('search', { query: 'otters' }).text('Sorry.'))
        const broken = '{"query": "ott'
        const client = fakeClient(fake.openaiBaseURL, { fetch: rewritingFetch(breakToolArguments(broken)) })
        const search = searchTool()
        const ended: Array<ToolCallInfo & { isError: boolean; output: unknown }> = []
        const { result } = await runIn(
          streamed,
          new OpenAIRunner({ client }),
          { model, api, tools: [search.tool] },
          'Find otters',
          { hooks: { onToolCallEnd: (event) => void ended.push(event) } },
        )
        expect(result.text).toBe('Sorry.')
        expect(search.queries).toEqual([])
        expect(ended).toHaveLength(1)
        expect(ended[0]).toMatchObject({ toolName: 'search', input: broken, isError: true })
        const results = toolResultsIn(player.calls[1]?.request as RecordedRequest)
        expect(results).toEqual([
          { id: 'call_0_0', output: expect.stringContaining('Invalid input for tool "search"') },
        ])
        expect(results[0]?.output).toContain('expected object, received string')
        player.assertDone()
      })

      it('an unknown tool gives the model an error naming the tools it has, and the run continues', async () => {
        const { model, player } = fake.play(scenario().toolCall('no_such_tool', { x: 1 }).text('Recovered.'))
        const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
        const { result } = await runIn(streamed, runner, { model, api, tools: [searchTool().tool] }, 'Go', {
          agentId: 'unknown-tool',
        })
        expect(result.text).toBe('Recovered.')
        const [toolResult] = toolResultsIn(player.calls[1]?.request as RecordedRequest)
        expect(toolResult?.output).toBe(
          'Unknown tool "no_such_tool". Available tools: report_status, search.',
        )
        expect((await runner.activity.detail('unknown-tool')).status).toBe('complete')
      })

      it('several calls of one turn run concurrently, and their results keep the calls’ order', async () => {
        let running = 0
        let most = 0
        const bothStarted = Promise.withResolvers<void>()
        const slow = defineTool({
          name: 'fetch_page',
          description: 'Fetches a page.',
          inputSchema: z.object({ url: z.string(), delayMs: z.number() }),
          execute: async ({ url, delayMs }, { signal }) => {
            running++
            most = Math.max(most, running)
            if (running === 2) bothStarted.resolve()
            // Each call waits for the other to start (or fails the test after 2 s): only concurrency passes.
            await Promise.race([
              bothStarted.promise,
              new Promise((_, reject) => setTimeout(() => reject(new Error('ran alone')), 2000)),
            ])
            await new Promise((resolve) => setTimeout(resolve, delayMs))
            signal.throwIfAborted()
            running--
            return `page ${url}`
          },
        })
        const { model, player } = fake.play(
          scenario()
            .toolCalls([
              { name: 'fetch_page', input: { url: 'a', delayMs: 30 } },
              { name: 'fetch_page', input: { url: 'b', delayMs: 1 } },
            ])
            .text('Both read.'),
        )
        const runner = new OpenAIRunner({ client: fakeClient(fake.openaiBaseURL) })
        const { result } = await runIn(streamed, runner, { model, api, tools: [slow] }, 'Read a and b')
        expect(result.text).toBe('Both read.')
        expect(most).toBe(2)
        expect(toolResultsIn(player.calls[1]?.request as RecordedRequest)).toEqual([
          { id: 'call_0_0', output: 'page a' },
          { id: 'call_0_1', output: 'page b' },
        ])
      })
    })
  }
})
