/**
 * Case 2, streaming over HTTP: one answer of 2,000 text deltas (one SSE frame each) from the
 * protocol fake. Time to the first text delta and to the end of the stream, `runStreamed` of
 * OpenAIRunner and ClaudeRunner against the bare SDK's raw stream with the same request.
 */
import Anthropic from '@anthropic-ai/sdk'
import type { Tool } from '@anthropic-ai/sdk/resources/messages'
import { ClaudeRunner } from '@runner/claude'
import { OpenAIRunner } from '@runner/openai'
import OpenAI from 'openai'
import type { ChatCompletionTool } from 'openai/resources/chat/completions'
import { type BenchCase, size } from '../lib/case.ts'
import type { FakeServer } from '../lib/fake-server.ts'
import {
  INSTRUCTIONS,
  PROMPT,
  REPORT_STATUS_DESCRIPTION,
  SEARCH_DESCRIPTION,
  searchTool,
  toolSchemas,
} from '../lib/fixtures.ts'
import type { Row } from '../lib/results.ts'
import { type Contender, interleavedRounds } from '../lib/rounds.ts'
import type { RunnerLike } from '../lib/runner-like.ts'
import { longTextChars, streamBatch, streamRows } from '../lib/stream-batch.ts'

const chatTools: ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'report_status',
      description: REPORT_STATUS_DESCRIPTION,
      parameters: toolSchemas.report_status,
    },
  },
  {
    type: 'function',
    function: { name: 'search', description: SEARCH_DESCRIPTION, parameters: toolSchemas.search },
  },
]
const messageTools: Tool[] = [
  {
    name: 'report_status',
    description: REPORT_STATUS_DESCRIPTION,
    input_schema: toolSchemas.report_status as Tool['input_schema'],
  },
  {
    name: 'search',
    description: SEARCH_DESCRIPTION,
    input_schema: toolSchemas.search as Tool['input_schema'],
  },
]

/** `runStreamed`, drained: text deltas to `onDelta`, then the result. */
async function runnerStream(
  runner: RunnerLike,
  agent: unknown,
  onDelta: (text: string) => void,
): Promise<void> {
  const stream = runner.runStreamed(agent, PROMPT)
  for await (const event of stream) if (event.type === 'text-delta' && event.text) onDelta(event.text)
  await stream.result
}

function contenders(
  fake: FakeServer,
  caseId: string,
  words: number,
  adapter: 'openai' | 'claude',
): Contender[] {
  const chars = longTextChars(words)
  const play = async (name: string, runs: number, tag: string) => {
    const model = `${caseId}-${adapter}-${name}-${tag}`
    await fake.play(model, { kind: 'long-text', runs, words })
    return model
  }
  if (adapter === 'openai') {
    const client = new OpenAI({ apiKey: 'bench', baseURL: fake.openaiBaseURL, maxRetries: 0 })
    const runner = new OpenAIRunner({ client })
    return [
      {
        name: 'bare',
        async prepare(runs, tag) {
          const model = await play('bare', runs, tag)
          return streamBatch(runs, chars, 'bare openai', async (onDelta) => {
            const stream = await client.chat.completions.create({
              model,
              messages: [
                { role: 'system', content: INSTRUCTIONS },
                { role: 'user', content: PROMPT },
              ],
              tools: chatTools,
              stream: true,
              stream_options: { include_usage: true },
            })
            for await (const chunk of stream) {
              const text = chunk.choices[0]?.delta?.content
              if (text) onDelta(text)
            }
          })
        },
      },
      {
        name: 'runner',
        async prepare(runs, tag) {
          const agent = { model: await play('runner', runs, tag), tools: [searchTool] }
          return streamBatch(runs, chars, 'OpenAIRunner', (onDelta) => runnerStream(runner, agent, onDelta))
        },
      },
    ]
  }
  const client = new Anthropic({ apiKey: 'bench', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
  const runner = new ClaudeRunner({ client })
  return [
    {
      name: 'bare',
      async prepare(runs, tag) {
        const model = await play('bare', runs, tag)
        return streamBatch(runs, chars, 'bare @anthropic-ai/sdk', async (onDelta) => {
          const stream = await client.messages.create({
            model,
            max_tokens: 8192,
            system: INSTRUCTIONS,
            messages: [{ role: 'user', content: PROMPT }],
            tools: messageTools,
            stream: true,
          })
          for await (const event of stream) {
            if (event.type === 'content_block_delta' && event.delta.type === 'text_delta')
              onDelta(event.delta.text)
          }
        })
      },
    },
    {
      name: 'runner',
      async prepare(runs, tag) {
        const agent = { model: await play('runner', runs, tag), maxTokens: 8192, tools: [searchTool] }
        return streamBatch(runs, chars, 'ClaudeRunner', (onDelta) => runnerStream(runner, agent, onDelta))
      },
    },
  ]
}

export const streamingCase: BenchCase = {
  id: '2-streaming-http',
  group: 2,
  title: 'Streaming over HTTP: OpenAIRunner and ClaudeRunner',
  async run(context) {
    const fake = await context.fake()
    const words = 2000
    const settings = {
      deltas: words,
      streamsPerBatch: size(context, 1, 5),
      rounds: size(context, 5, 15),
      warmupStreams: size(context, 2, 5),
    }
    const options = {
      runs: settings.streamsPerBatch,
      rounds: settings.rounds,
      warmupRuns: settings.warmupStreams,
    }
    const rows: Row[] = []
    const openai = await interleavedRounds(contenders(fake, this.id, words, 'openai'), options)
    rows.push(...streamRows(openai, 'OpenAIRunner.runStreamed', 'bare openai stream', words))
    const claude = await interleavedRounds(contenders(fake, this.id, words, 'claude'), options)
    rows.push(...streamRows(claude, 'ClaudeRunner.runStreamed', 'bare @anthropic-ai/sdk stream', words))
    await fake.assertClean()
    return {
      settings,
      rows,
      notes: [
        'The fake writes the 2,000 SSE frames back to back (no delay): the total time is what the client side spends parsing and relaying deltas. Bare: `create({ stream: true })` iterated raw, with the same request as the runner (system prompt, two tools).',
        'No target in the issue for this case: the ratios are for information.',
      ],
    }
  },
}
