import { defineTool, InvalidOptionsError, RunCanceledError } from '@runner/core'
import { scenario } from '@runner/testkit'
import { readUIMessageStream, toUIMessageStream, type UIMessage, type UIMessageChunk } from 'ai'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { AISDKRunner } from './ai-sdk-runner.js'
import type { AISDKStreamOutput } from './output.js'
import { toAISDKTools } from './test-helpers/neutral-tools.js'
import { agentOf, rejectionOf } from './test-helpers/run-modes.js'
import { toAISDKStream, toUIMessageStreamResponse } from './ui-message-stream.js'

const search = toAISDKTools([
  defineTool({
    name: 'search',
    description: 'Searches the web.',
    inputSchema: z.object({ query: z.string() }),
    execute: async ({ query }) => `results for ${query}`,
  }),
])

const research = () =>
  scenario()
    .toolCall('report_status', { message: 'Searching the web', percentage: 30 })
    .toolCall('search', { query: 'otters' })
    .text('Otters hold hands.')

/** The UI message chunks of a UI message stream response (its SSE `data:` lines). */
async function chunksOf(response: Response): Promise<UIMessageChunk[]> {
  const text = await response.text()
  return text
    .split('\n\n')
    .flatMap((frame) => frame.split('\n').filter((line) => line.startsWith('data: ')))
    .map((line) => line.slice(6))
    .filter((data) => data !== '[DONE]')
    .map((data) => JSON.parse(data) as UIMessageChunk)
}

/** The assistant message a `useChat` client builds from the chunks. */
async function messageOf(chunks: UIMessageChunk[]): Promise<UIMessage | undefined> {
  let last: UIMessage | undefined
  const stream = new ReadableStream<UIMessageChunk>({
    start(controller) {
      // The client reconciles parts in place: give it copies.
      for (const chunk of chunks) controller.enqueue(structuredClone(chunk))
      controller.close()
    },
  })
  for await (const message of readUIMessageStream({ stream })) last = message
  return last
}

describe.each(['agent', 'settings'] as const)('toUIMessageStreamResponse (%s)', (kind) => {
  it('answers with the AI SDK’s UI message stream: text, tool parts, and the run’s status', async () => {
    const runner = new AISDKRunner()
    const { agent } = agentOf(kind, runner, research(), { tools: search })
    const run = runner.runStreamed(agent, 'Tell me about otters', { includeNative: true })
    const response = toUIMessageStreamResponse(run)
    expect(response.headers.get('content-type')).toContain('text/event-stream')
    expect(response.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1')
    const chunks = await chunksOf(response)
    expect(chunks.filter((chunk) => chunk.type === 'start')).toHaveLength(1)
    expect(chunks.at(-1)?.type).toBe('finish')
    const message = await messageOf(chunks)
    const parts = message?.parts ?? []
    expect(
      parts.filter((part) => part.type === 'text').map((part) => (part as { text: string }).text),
    ).toEqual(['Otters hold hands.'])
    expect(parts.find((part) => part.type === 'tool-search')).toMatchObject({
      state: 'output-available',
      input: { query: 'otters' },
      output: 'results for otters',
    })
    expect(parts.find((part) => part.type === 'tool-report_status')).toMatchObject({
      output: 'Status updated',
    })
    // One status part, updated in place: the last status of the run.
    const status = parts.filter((part) => part.type === 'data-status')
    expect(status).toEqual([
      {
        type: 'data-status',
        id: `status-${run.agentId}`,
        data: { status: 'complete', message: 'Complete', percentage: 100 },
      },
    ])
    const statusChunks = chunks.flatMap((chunk) =>
      chunk.type === 'data-status' ? [(chunk.data as { message: string }).message] : [],
    )
    expect(statusChunks).toEqual(['Searching the web', 'Complete'])
    // The status follows the part it came with; finish comes last, after the final status.
    const types = chunks.map((chunk) => chunk.type)
    expect(types.indexOf('data-status')).toBeGreaterThan(types.indexOf('tool-input-available'))
    expect(types.slice(-2)).toEqual(['data-status', 'finish'])
    expect((await run.result).text).toBe('Otters hold hands.')
  })

  it('sendStatus: false leaves the status out; the AI SDK’s options (messageMetadata...) apply', async () => {
    const runner = new AISDKRunner()
    const { agent } = agentOf(kind, runner, scenario().text('Hi.'))
    const run = runner.runStreamed(agent, 'Hello', { includeNative: true })
    const chunks = await chunksOf(
      toUIMessageStreamResponse(run, {
        sendStatus: false,
        messageMetadata: ({ part }) => (part.type === 'start' ? { agentId: run.agentId } : undefined),
        headers: { 'x-run-id': run.agentId },
      }),
    )
    expect(chunks.some((chunk) => chunk.type === 'data-status')).toBe(false)
    expect(chunks.find((chunk) => chunk.type === 'start')).toMatchObject({
      messageMetadata: { agentId: run.agentId },
    })
  })
  it('a failed run tells the browser what onError says, in the error chunk and the final status alike', async () => {
    const secretMessage = 'upstream 10.0.3.7:8443 rejected key sk-live-abc for org acme-internal'
    for (const onError of [() => 'Something went wrong.', undefined]) {
      const runner = new AISDKRunner()
      const { agent } = agentOf(
        kind,
        runner,
        scenario()
          .toolCall('report_status', { message: 'Calling with sk-live-abcdefgh', percentage: 10 })
          .error(400, secretMessage),
      )
      const run = runner.runStreamed(agent, 'Hello', { includeNative: true })
      const response = toUIMessageStreamResponse(run, onError ? { onError } : {})
      const body = await response.text()
      const expected = onError ? 'Something went wrong.' : 'An error occurred.'
      // Nothing of the activity's own failure line, and no key, reaches the browser.
      expect(body).not.toContain('sk-live-abc')
      expect(body).not.toContain('10.0.3.7')
      const chunks = await chunksOf(new Response(body))
      expect(chunks.find((chunk) => chunk.type === 'error')).toMatchObject({ errorText: expected })
      const statuses = chunks.flatMap((chunk) => (chunk.type === 'data-status' ? [chunk.data] : []))
      expect(statuses.at(0)).toMatchObject({ status: 'running', message: 'Calling with [REDACTED]' })
      expect(statuses.at(-1)).toEqual({ status: 'error', message: expected, percentage: null })
      // The activity keeps the failure for the people who run the system, the key redacted.
      const activity = await runner.activity.detail(run.agentId)
      expect(activity.log.at(-1)?.message).toContain('rejected key [REDACTED] for org acme-internal')
      await rejectionOf(run.result)
    }
  })

  it('a short answer is a short response: no result object travels, only the UI message chunks', async () => {
    const runner = new AISDKRunner()
    const { agent } = agentOf(kind, runner, scenario().text('Hi.'))
    const run = runner.runStreamed(agent, 'Hello', { includeNative: true })
    const body = await toUIMessageStreamResponse(run).text()
    for (const internal of ['_steps', 'baseStream', '"_promise"', 'responseMessages']) {
      expect(body).not.toContain(internal)
    }
    expect(new TextEncoder().encode(body).byteLength).toBeLessThan(1024)
    expect((await run.result).text).toBe('Hi.')
  })
})

describe('toAISDKStream', () => {
  it('needs includeNative: an error that says so', async () => {
    const runner = new AISDKRunner()
    const { agent } = agentOf('settings', runner, scenario().text('Hi.'))
    const run = runner.runStreamed(agent, 'Hello')
    const reader = toAISDKStream(run).getReader()
    const error = await rejectionOf(
      (async () => {
        for (;;) if ((await reader.read()).done) return
      })(),
    )
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect((error as InvalidOptionsError).field).toBe('includeNative')
  })

  it('spans a retried run: one start, no error part of the failed attempt, the answer of the retry', async () => {
    const runner = new AISDKRunner()
    // A request repeated in place (a 500), and an attempt started over (a stream cut before any text).
    for (const failure of [scenario().error(500, 'Overloaded'), scenario().cutStream('')]) {
      const { agent } = agentOf('settings', runner, failure.text('Second try.'))
      const run = runner.runStreamed(agent, 'go', {
        includeNative: true,
        retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
      })
      const chunks: UIMessageChunk[] = []
      for await (const chunk of toUIMessageStream({ stream: toAISDKStream(run) })) chunks.push(chunk)
      expect(chunks.filter((chunk) => chunk.type === 'start')).toHaveLength(1)
      expect(chunks.some((chunk) => chunk.type === 'error')).toBe(false)
      expect(
        (await messageOf(chunks))?.parts.some((part) => part.type === 'text' && part.text === 'Second try.'),
      ).toBe(true)
      expect((await run.result).attempts).toBe(2)
    }
  })

  it('ends a failed run with an error part, a canceled one with an abort part', async () => {
    const runner = new AISDKRunner()
    const failing = agentOf('settings', runner, scenario().error(400, 'Bad request from the model'))
    const parts: Array<{ type: string }> = []
    for await (const part of toAISDKStream(
      runner.runStreamed(failing.agent, 'go', { includeNative: true }),
    )) {
      parts.push(part)
    }
    expect(parts.at(-1)).toMatchObject({ type: 'error' })

    const hanging = agentOf('settings', runner, scenario().hang())
    const controller = new AbortController()
    const run = runner.runStreamed(hanging.agent, 'go', { includeNative: true, signal: controller.signal })
    const seen: Array<{ type: string }> = []
    for await (const part of toAISDKStream(run)) {
      seen.push(part)
      if (part.type === 'start') controller.abort()
    }
    expect(seen.at(-1)?.type).toBe('abort')
    expect(RunCanceledError.isInstance(await rejectionOf(run.result))).toBe(true)
  })

  it('a client that disconnects cancels the run', async () => {
    const runner = new AISDKRunner()
    const { agent, player } = agentOf('settings', runner, scenario().hang())
    const run = runner.runStreamed(agent, 'go', { agentId: 'gone', includeNative: true })
    const response = toUIMessageStreamResponse(run)
    const reader = response.body!.getReader()
    await reader.read()
    await expect.poll(() => player.calls.length).toBe(1)
    await reader.cancel()
    expect(RunCanceledError.isInstance(await rejectionOf(run.result))).toBe(true)
    await expect.poll(async () => (await runner.activity.detail('gone')).status).toBe('canceled')
    expect(player.calls[0]?.signal?.aborted).toBe(true)
  })
})

describe('the AI SDK’s own result of a streamed run', () => {
  it('stays on the output: its stream replays for the AI SDK’s UI helpers after the run', async () => {
    const runner = new AISDKRunner()
    const { agent } = agentOf('agent', runner, research(), { tools: search })
    const result = await runner.runStreamed(agent, 'go').result
    const output = result.output as AISDKStreamOutput
    expect(output.mode).toBe('stream')
    const chunks: UIMessageChunk[] = []
    for await (const chunk of toUIMessageStream({ stream: output.result.stream })) chunks.push(chunk)
    const message = await messageOf(chunks)
    expect(message?.parts.some((part) => part.type === 'text' && part.text === 'Otters hold hands.')).toBe(
      true,
    )
    expect(await output.result.text).toBe('Otters hold hands.')
  })
})
