/**
 * Case 1, OpenAI: N sequential two-turn tool runs (a `search` call, then the answer) on Chat
 * Completions against the protocol fake. `OpenAIRunner` against the same loop hand-written on the
 * bare `openai` client, and against the peer `@openai/agents` `run()` (tracing off).
 */
import { Agent, OpenAIChatCompletionsModel, run, setTracingDisabled, tool } from '@openai/agents'
import { createRateLimiter, reportStatusInputSchema } from '@runner/core/adapter'
import { OpenAIRunner } from '@runner/openai'
import OpenAI from 'openai'
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions'
import { adapterRows } from '../lib/adapter-rows.ts'
import { type BenchCase, size } from '../lib/case.ts'
import type { FakeServer } from '../lib/fake-server.ts'
import {
  type BareResult,
  callTool,
  expectAnswer,
  INSTRUCTIONS,
  PROMPT,
  REPORT_STATUS_DESCRIPTION,
  SEARCH_DESCRIPTION,
  searchInput,
  searchTool,
  searchWeb,
  toolSchemas,
} from '../lib/fixtures.ts'
import { withOtel } from '../lib/otel-sdk.ts'
import { compareRow, targets } from '../lib/results.ts'
import { type Contender, interleavedRounds, sequential, series } from '../lib/rounds.ts'
import { differences, median, ratios } from '../lib/stats.ts'

setTracingDisabled(true)

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

/** The tool loop as one writes it on the bare client: the answer and the tokens summed over turns. */
async function bareRun(client: OpenAI, model: string): Promise<BareResult> {
  const messages: ChatCompletionMessageParam[] = [
    { role: 'system', content: INSTRUCTIONS },
    { role: 'user', content: PROMPT },
  ]
  let inputTokens = 0
  let outputTokens = 0
  for (let turn = 0; turn < 10; turn++) {
    const completion = await client.chat.completions.create({ model, messages, tools: chatTools })
    inputTokens += completion.usage?.prompt_tokens ?? 0
    outputTokens += completion.usage?.completion_tokens ?? 0
    const message = completion.choices[0]?.message
    if (!message) throw new Error('no choice')
    messages.push(message)
    const calls = message.tool_calls ?? []
    if (calls.length === 0) return { text: message.content ?? '', inputTokens, outputTokens }
    const results = await Promise.all(
      calls.map(async (call) => {
        if (call.type !== 'function') return { id: call.id, content: 'unsupported' }
        return {
          id: call.id,
          content: await callTool(call.function.name, JSON.parse(call.function.arguments)),
        }
      }),
    )
    for (const result of results)
      messages.push({ role: 'tool', tool_call_id: result.id, content: result.content })
  }
  throw new Error('too many turns')
}

export function openaiContenders(fake: FakeServer, caseId: string): Contender[] {
  const client = new OpenAI({ apiKey: 'bench', baseURL: fake.openaiBaseURL, maxRetries: 0 })
  const runner = new OpenAIRunner({ client })
  const runnerNoTrajectory = new OpenAIRunner({ client, recordTrajectory: false })
  const runnerNotDurable = new OpenAIRunner({ client, durable: false })
  // Limits far above what the bench sends: every call takes its slots and never waits.
  const runnerRateLimited = new OpenAIRunner({
    client,
    rateLimiter: createRateLimiter({
      limits: { openai: { requestsPerMinute: 10_000_000, tokensPerMinute: 1_000_000_000 } },
    }),
  })
  const play = async (name: string, runs: number, tag: string) => {
    const model = `${caseId}-${name}-${tag}`
    await fake.play(model, { kind: 'tool-then-text', runs })
    return model
  }
  const peerTools = [
    tool({
      name: 'report_status',
      description: REPORT_STATUS_DESCRIPTION,
      parameters: reportStatusInputSchema,
      execute: async () => 'Status updated',
    }),
    tool({ name: 'search', description: SEARCH_DESCRIPTION, parameters: searchInput, execute: searchWeb }),
  ]
  const runnerContender = (name: string, subject: OpenAIRunner): Contender => ({
    name,
    async prepare(runs, tag) {
      const agent = { model: await play(name, runs, tag), tools: [searchTool] }
      return sequential(runs, async () =>
        expectAnswer((await subject.run(agent, PROMPT)).text, 'OpenAIRunner'),
      )
    },
  })
  return [
    {
      name: 'bare',
      async prepare(runs, tag) {
        const model = await play('bare', runs, tag)
        return sequential(runs, async () => expectAnswer((await bareRun(client, model)).text, 'bare openai'))
      },
    },
    runnerContender('runner', runner),
    runnerContender('runner-no-trajectory', runnerNoTrajectory),
    runnerContender('runner-not-durable', runnerNotDurable),
    runnerContender('runner-rate-limited', runnerRateLimited),
    {
      // The same runner, with @runner/otel registered on an SDK whose exporters do nothing.
      name: 'runner-otel',
      async prepare(runs, tag) {
        const agent = { model: await play('runner-otel', runs, tag), tools: [searchTool] }
        const batch = sequential(runs, async () =>
          expectAnswer((await runner.run(agent, PROMPT)).text, 'OpenAIRunner with @runner/otel'),
        )
        return withOtel(batch)
      },
    },
    {
      name: 'peer',
      async prepare(runs, tag) {
        const model = new OpenAIChatCompletionsModel(client, await play('peer', runs, tag))
        const agent = new Agent({ name: 'bench', instructions: INSTRUCTIONS, model, tools: peerTools })
        return sequential(runs, async () => {
          const result = await run(agent, PROMPT)
          expectAnswer(result.finalOutput, '@openai/agents')
        })
      },
    },
  ]
}

export const openaiCase: BenchCase = {
  id: '1-openai',
  group: 1,
  title: 'Runner overhead, non-streamed: OpenAIRunner (Chat Completions)',
  async run(context) {
    const fake = await context.fake()
    const settings = {
      runs: size(context, 4, 20),
      rounds: size(context, 6, 25),
      warmupRuns: size(context, 10, 50),
    }
    const samples = await interleavedRounds(openaiContenders(fake, this.id), settings)
    await fake.assertClean()
    const rateLimiterAdded = Math.round(
      median(differences(series(samples, 'runner-rate-limited'), series(samples, 'runner'))) * 1000,
    )
    const otelAdded = Math.round(
      median(differences(series(samples, 'runner-otel'), series(samples, 'runner'))) * 1000,
    )
    return {
      settings: { ...settings, turnsPerRun: 2 },
      rows: [
        ...adapterRows(samples, {
          runner: 'OpenAIRunner',
          bare: 'bare openai',
          peer: '@openai/agents run()',
        }),
        compareRow({
          measure: 'OpenAIRunner with @runner/otel (SDK, no-op exporters) vs without',
          unit: 'ms/run',
          subject: series(samples, 'runner-otel'),
          reference: series(samples, 'runner'),
          referenceName: 'OpenAIRunner',
          cpu: {
            subject: series(samples, 'runner-otel', 'cpuMs'),
            reference: series(samples, 'runner', 'cpuMs'),
          },
          target: targets.otelOverhead,
          note: `${otelAdded >= 0 ? '+' : ''}${otelAdded.toLocaleString('en-US')} µs/run; client CPU ${median(ratios(series(samples, 'runner-otel', 'cpuMs'), series(samples, 'runner', 'cpuMs'))).toFixed(2)}×`,
        }),
        compareRow({
          measure: 'OpenAIRunner with a generous rate limiter (in memory) vs without',
          unit: 'ms/run',
          subject: series(samples, 'runner-rate-limited'),
          reference: series(samples, 'runner'),
          referenceName: 'OpenAIRunner',
          cpu: {
            subject: series(samples, 'runner-rate-limited', 'cpuMs'),
            reference: series(samples, 'runner', 'cpuMs'),
          },
          target: targets.rateLimiterOverhead,
          note: `${rateLimiterAdded >= 0 ? '+' : ''}${rateLimiterAdded.toLocaleString('en-US')} µs/run; client CPU ${median(ratios(series(samples, 'runner-rate-limited', 'cpuMs'), series(samples, 'runner', 'cpuMs'))).toFixed(2)}×`,
        }),
      ],
      notes: [
        'bare openai: `client.chat.completions.create` in a loop, tool calls dispatched by hand; every contender sends the same system prompt and the same two tools (`report_status`, `search`).',
        '@openai/agents: `Agent` on `OpenAIChatCompletionsModel` with the same client, `run(agent, prompt)`, tracing disabled.',
        'rate limiter: `createRateLimiter({ limits: { openai: { requestsPerMinute: 10,000,000, tokensPerMinute: 1,000,000,000 } } })` in memory: each call takes its request and token slots (the sliding-window logs) and its token count is corrected after it; nothing ever waits.',
        '@runner/otel: `instrumentRunner` on an OpenTelemetry SDK (AsyncLocalStorage context, `BatchSpanProcessor`, periodic metric reader) whose exporters do nothing: one `invoke_agent`, two `chat` and one or two `execute_tool` spans and the GenAI metrics per run.',
      ],
    }
  },
}
