/**
 * Case 1, Anthropic: N sequential two-turn tool runs against the protocol fake's Messages API.
 * `ClaudeRunner` against the same loop hand-written on the bare `@anthropic-ai/sdk` client, and
 * against the peer: the SDK's beta `toolRunner` (full history each turn, `thread: false`, as the
 * bare loop and the runner send it).
 */
import Anthropic from '@anthropic-ai/sdk'
import { betaZodTool } from '@anthropic-ai/sdk/helpers/beta/zod'
import type { MessageParam, Tool, ToolResultBlockParam } from '@anthropic-ai/sdk/resources/messages'
import { ClaudeRunner } from '@runner/claude'
import { reportStatusInputSchema } from '@runner/core/adapter'
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
import { type Contender, interleavedRounds, sequential } from '../lib/rounds.ts'

const MAX_TOKENS = 1024

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

/** The tool loop as one writes it on the bare client: the answer and the tokens summed over turns. */
async function bareRun(client: Anthropic, model: string): Promise<BareResult> {
  const messages: MessageParam[] = [{ role: 'user', content: PROMPT }]
  let inputTokens = 0
  let outputTokens = 0
  for (let turn = 0; turn < 10; turn++) {
    const message = await client.messages.create({
      model,
      max_tokens: MAX_TOKENS,
      system: INSTRUCTIONS,
      messages,
      tools: messageTools,
    })
    inputTokens += message.usage.input_tokens
    outputTokens += message.usage.output_tokens
    messages.push({ role: 'assistant', content: message.content })
    const uses = message.content.filter((block) => block.type === 'tool_use')
    if (message.stop_reason !== 'tool_use' || uses.length === 0) {
      const text = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('')
      return { text, inputTokens, outputTokens }
    }
    const results: ToolResultBlockParam[] = await Promise.all(
      uses.map(async (use) => ({
        type: 'tool_result' as const,
        tool_use_id: use.id,
        content: await callTool(use.name, use.input),
      })),
    )
    messages.push({ role: 'user', content: results })
  }
  throw new Error('too many turns')
}

export function claudeContenders(fake: FakeServer, caseId: string): Contender[] {
  const client = new Anthropic({ apiKey: 'bench', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
  const runner = new ClaudeRunner({ client })
  const runnerNoTrajectory = new ClaudeRunner({ client, recordTrajectory: false })
  const runnerNotDurable = new ClaudeRunner({ client, durable: false })
  const play = async (name: string, runs: number, tag: string) => {
    const model = `${caseId}-${name}-${tag}`
    await fake.play(model, { kind: 'tool-then-text', runs })
    return model
  }
  const peerTools = [
    betaZodTool({
      name: 'report_status',
      description: REPORT_STATUS_DESCRIPTION,
      inputSchema: reportStatusInputSchema,
      run: async () => 'Status updated',
    }),
    betaZodTool({
      name: 'search',
      description: SEARCH_DESCRIPTION,
      inputSchema: searchInput,
      run: searchWeb,
    }),
  ]
  const runnerContender = (name: string, subject: ClaudeRunner): Contender => ({
    name,
    async prepare(runs, tag) {
      const agent = { model: await play(name, runs, tag), maxTokens: MAX_TOKENS, tools: [searchTool] }
      return sequential(runs, async () =>
        expectAnswer((await subject.run(agent, PROMPT)).text, 'ClaudeRunner'),
      )
    },
  })
  return [
    {
      name: 'bare',
      async prepare(runs, tag) {
        const model = await play('bare', runs, tag)
        return sequential(runs, async () =>
          expectAnswer((await bareRun(client, model)).text, 'bare @anthropic-ai/sdk'),
        )
      },
    },
    runnerContender('runner', runner),
    runnerContender('runner-no-trajectory', runnerNoTrajectory),
    runnerContender('runner-not-durable', runnerNotDurable),
    {
      name: 'peer',
      async prepare(runs, tag) {
        const model = await play('peer', runs, tag)
        return sequential(runs, async () => {
          const message = await client.beta.messages.toolRunner({
            model,
            max_tokens: MAX_TOKENS,
            system: INSTRUCTIONS,
            messages: [{ role: 'user', content: PROMPT }],
            tools: peerTools,
            thread: false,
          })
          expectAnswer(
            message.content.map((block) => (block.type === 'text' ? block.text : '')).join(''),
            'beta toolRunner',
          )
        })
      },
    },
  ]
}

export const claudeCase: BenchCase = {
  id: '1-claude',
  group: 1,
  title: 'Runner overhead, non-streamed: ClaudeRunner (Messages)',
  async run(context) {
    const fake = await context.fake()
    const settings = {
      runs: size(context, 4, 20),
      rounds: size(context, 6, 25),
      warmupRuns: size(context, 10, 50),
    }
    const samples = await interleavedRounds(claudeContenders(fake, this.id), settings)
    await fake.assertClean()
    return {
      settings: { ...settings, turnsPerRun: 2 },
      rows: adapterRows(samples, {
        runner: 'ClaudeRunner',
        bare: 'bare @anthropic-ai/sdk',
        peer: 'Anthropic beta toolRunner',
      }),
      notes: [
        'bare @anthropic-ai/sdk: `client.messages.create` in a loop, tool calls dispatched by hand; every contender sends the same system prompt and the same two tools.',
      ],
    }
  },
}
