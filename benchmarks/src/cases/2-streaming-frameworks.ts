/**
 * Case 2, streaming in process: one answer of 2,000 text deltas from the frameworks' fake models.
 * `AISDKRunner.runStreamed` against bare `streamText(...).textStream`; `LangChainRunner.runStreamed`
 * against the bare graph's `streamEvents` (v2, `on_chat_model_stream`), which is what the runner reads.
 */

import { streamText } from 'ai'
import { createAgent } from 'langchain'
import { longTextModel } from '../fakes/ai-sdk-model.ts'
import { ScriptedChatModel } from '../fakes/langchain-model.ts'
import { type BenchCase, type CaseContext, size } from '../lib/case.ts'
import { INSTRUCTIONS, PROMPT } from '../lib/fixtures.ts'
import { loadOptional } from '../lib/optional.ts'
import { type Row, targets, withTarget } from '../lib/results.ts'
import { type Contender, interleavedRounds, type RoundsOptions } from '../lib/rounds.ts'
import type { RunnerClass, RunnerLike } from '../lib/runner-like.ts'
import { longTextChars, streamBatch, streamRows } from '../lib/stream-batch.ts'
import { bareReportStatus, reportStatusOf, search } from './1-langchain.ts'

const WORDS = 2000

async function drain(runner: RunnerLike, agent: unknown, onDelta: (text: string) => void): Promise<void> {
  const stream = runner.runStreamed(agent, PROMPT)
  for await (const event of stream) if (event.type === 'text-delta' && event.text) onDelta(event.text)
  await stream.result
}

function aiSdkContenders(AISDKRunner: RunnerClass): Contender[] {
  const chars = longTextChars(WORDS)
  const runner = new AISDKRunner()
  return [
    {
      name: 'bare',
      prepare: (runs) =>
        streamBatch(runs, chars, 'streamText', async (onDelta) => {
          const result = streamText({
            model: longTextModel(WORDS),
            instructions: INSTRUCTIONS,
            prompt: PROMPT,
          })
          for await (const text of result.textStream) onDelta(text)
        }),
    },
    {
      name: 'runner',
      prepare: (runs) =>
        streamBatch(runs, chars, 'AISDKRunner', (onDelta) =>
          drain(runner, { model: longTextModel(WORDS) }, onDelta),
        ),
    },
  ]
}

function langchainContenders(LangChainRunner: RunnerClass): Contender[] {
  const chars = longTextChars(WORDS)
  const runner = new LangChainRunner()
  const graph = (reportStatus: typeof bareReportStatus) =>
    createAgent({
      model: new ScriptedChatModel({ words: WORDS }),
      tools: [reportStatus, search],
      systemPrompt: INSTRUCTIONS,
    })
  const bare = graph(bareReportStatus)
  const agent = graph(reportStatusOf(runner))
  return [
    {
      name: 'bare',
      prepare: (runs) =>
        streamBatch(runs, chars, 'graph.streamEvents', async (onDelta) => {
          const events = bare.streamEvents(
            { messages: [{ role: 'user', content: PROMPT }] },
            { version: 'v2' },
          )
          for await (const event of events) {
            if (event.event !== 'on_chat_model_stream') continue
            const content = (event.data as { chunk?: { content?: unknown } }).chunk?.content
            if (typeof content === 'string' && content) onDelta(content)
          }
        }),
    },
    {
      name: 'runner',
      prepare: (runs) =>
        streamBatch(runs, chars, 'LangChainRunner', (onDelta) => drain(runner, agent, onDelta)),
    },
  ]
}

async function measure(
  context: CaseContext,
  name: string,
  build: () => Contender[],
  options: RoundsOptions,
  runnerName: string,
  bareName: string,
): Promise<Row[]> {
  context.log(`2-streaming-frameworks: ${name}`)
  return streamRows(await interleavedRounds(build(), options), runnerName, bareName, WORDS)
}

export const streamingFrameworksCase: BenchCase = {
  id: '2-streaming-frameworks',
  group: 2,
  title: 'Streaming in process: AISDKRunner and LangChainRunner',
  async run(context) {
    const aiSdk = await loadOptional<{ AISDKRunner: RunnerClass }>('@runner/ai-sdk', ['AISDKRunner'])
    const langchain = await loadOptional<{ LangChainRunner: RunnerClass }>('@runner/langchain', [
      'LangChainRunner',
    ])
    const settings = {
      deltas: WORDS,
      streamsPerBatch: size(context, 1, 3),
      rounds: size(context, 4, 12),
      warmupStreams: size(context, 1, 5),
    }
    const options = {
      runs: settings.streamsPerBatch,
      rounds: settings.rounds,
      warmupRuns: settings.warmupStreams,
    }
    const rows: Row[] = []
    const notes: string[] = [
      "Target rows: the AI SDK and LangChain total times (the issue's ≤ 1.15× bare streamText / streamEvents); the other rows are for information.",
    ]
    if (aiSdk.ok) {
      const { AISDKRunner } = aiSdk.module
      const [firstDelta, total] = await measure(
        context,
        'AI SDK',
        () => aiSdkContenders(AISDKRunner),
        options,
        'AISDKRunner.runStreamed',
        'bare streamText',
      )
      rows.push(firstDelta!, withTarget(total!, targets.aiSdkStreamTotal))
    } else notes.push(`AISDKRunner skipped: ${aiSdk.reason}.`)
    if (langchain.ok) {
      const { LangChainRunner } = langchain.module
      const langchainRows = await measure(
        context,
        'LangChain',
        () => langchainContenders(LangChainRunner),
        options,
        'LangChainRunner.runStreamed',
        'bare graph.streamEvents',
      )
      // Issue 14: the total time of the stream has a target; the first delta is for information.
      rows.push(
        ...langchainRows.map((row) =>
          row.measure.includes(': total time') ? withTarget(row, targets.langchainStreamTotal) : row,
        ),
      )
    } else notes.push(`LangChainRunner skipped: ${langchain.reason}.`)
    if (rows.length === 0) {
      const reasons = [aiSdk, langchain].flatMap((loaded) => (loaded.ok ? [] : [loaded.reason]))
      return { skipped: reasons.join('; '), settings }
    }
    return { settings, rows, notes }
  },
}
