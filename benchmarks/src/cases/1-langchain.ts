/**
 * Case 1, LangChain: N sequential two-turn tool runs of a `createAgent` graph on a scripted chat
 * model (in process, instant). `LangChainRunner` running the graph against the bare
 * `graph.invoke(...)`, and the bare graph with LangGraph's own `MemorySaver` (what checkpointing
 * costs in LangGraph itself: the runner's runs are durable by default). No peer: LangGraph is its
 * own loop.
 */

import { randomUUID } from 'node:crypto'
import { tool } from '@langchain/core/tools'
import { MemorySaver } from '@langchain/langgraph'
import { reportStatusInputSchema } from '@runner/core/adapter'
import { createAgent } from 'langchain'
import { ScriptedChatModel } from '../fakes/langchain-model.ts'
import { adapterRows } from '../lib/adapter-rows.ts'
import { type BenchCase, size } from '../lib/case.ts'
import {
  expectAnswer,
  INSTRUCTIONS,
  PROMPT,
  REPORT_STATUS_DESCRIPTION,
  SEARCH_DESCRIPTION,
  searchInput,
  searchWeb,
} from '../lib/fixtures.ts'
import { loadOptional } from '../lib/optional.ts'
import { compareRow, type Row, targets } from '../lib/results.ts'
import { type Contender, interleavedRounds, type Samples, sequential, series } from '../lib/rounds.ts'
import type { RunnerClass, RunnerLike } from '../lib/runner-like.ts'
import { median, ratios } from '../lib/stats.ts'

export const search = tool(searchWeb, {
  name: 'search',
  description: SEARCH_DESCRIPTION,
  schema: searchInput,
})
/** The bare graph's report_status: the same schema as the runner's, reporting nowhere. */
export const bareReportStatus = tool(async () => 'Status updated', {
  name: 'report_status',
  description: REPORT_STATUS_DESCRIPTION,
  schema: reportStatusInputSchema,
})

/** The runner's own `report_status` tool when it has one, else the bare one. */
export function reportStatusOf(runner: RunnerLike): typeof bareReportStatus {
  const own = (runner as { tools?: { reportStatus?: typeof bareReportStatus } }).tools?.reportStatus
  return own ?? bareReportStatus
}

/** The last message's text of a graph state. */
export function finalText(state: { messages: Array<{ content: unknown }> }): string {
  const content = state.messages.at(-1)?.content
  return typeof content === 'string' ? content : JSON.stringify(content)
}

function graph(reportStatus: typeof bareReportStatus, checkpointer?: MemorySaver) {
  return createAgent({
    model: new ScriptedChatModel(),
    tools: [reportStatus, search],
    systemPrompt: INSTRUCTIONS,
    ...(checkpointer ? { checkpointer } : {}),
  })
}

export function langchainContenders(LangChainRunner: RunnerClass): Contender[] {
  const runnerContender = (name: string, subject: RunnerLike): Contender => {
    const agent = graph(reportStatusOf(subject))
    return {
      name,
      prepare: (runs) =>
        sequential(runs, async () =>
          expectAnswer((await subject.run(agent, PROMPT)).text, 'LangChainRunner'),
        ),
    }
  }
  const bare = graph(bareReportStatus)
  return [
    {
      name: 'bare',
      prepare: (runs) =>
        sequential(runs, async () =>
          expectAnswer(
            finalText(await bare.invoke({ messages: [{ role: 'user', content: PROMPT }] })),
            'graph.invoke',
          ),
        ),
    },
    {
      // What LangGraph's own checkpointing costs: the bare graph with its in-memory saver, a new
      // thread per run, each step saved before the next (`durability: 'sync'`, as a durable run).
      name: 'bare-checkpointed',
      prepare: (runs) => {
        const checkpointed = graph(bareReportStatus, new MemorySaver())
        return sequential(runs, async () =>
          expectAnswer(
            finalText(
              await checkpointed.invoke(
                { messages: [{ role: 'user', content: PROMPT }] },
                { configurable: { thread_id: randomUUID() }, durability: 'sync' },
              ),
            ),
            'graph.invoke (MemorySaver)',
          ),
        )
      },
    },
    runnerContender('runner', new LangChainRunner()),
    runnerContender('runner-no-trajectory', new LangChainRunner({ recordTrajectory: false })),
    runnerContender('runner-not-durable', new LangChainRunner({ durable: false })),
  ]
}

/** LangGraph's own checkpointing against the bare graph, and the (durable) runner against it. */
function checkpointedRows(samples: Samples): Row[] {
  const bare = series(samples, 'bare')
  const checkpointed = series(samples, 'bare-checkpointed')
  const cpu = (subject: string, reference: string) => ({
    subject: series(samples, subject, 'cpuMs'),
    reference: series(samples, reference, 'cpuMs'),
  })
  return [
    compareRow({
      measure: 'bare createAgent().invoke with a MemorySaver checkpointer vs bare createAgent().invoke',
      unit: 'ms/run',
      subject: checkpointed,
      reference: bare,
      referenceName: 'bare createAgent().invoke',
      cpu: cpu('bare-checkpointed', 'bare'),
      note: `client CPU ${median(ratios(cpu('bare-checkpointed', 'bare').subject, cpu('bare-checkpointed', 'bare').reference)).toFixed(2)}×`,
    }),
    compareRow({
      measure: 'LangChainRunner vs bare createAgent().invoke with a MemorySaver checkpointer',
      unit: 'ms/run',
      subject: series(samples, 'runner'),
      reference: checkpointed,
      referenceName: 'bare createAgent().invoke (MemorySaver)',
      cpu: cpu('runner', 'bare-checkpointed'),
      note: `client CPU ${median(ratios(cpu('runner', 'bare-checkpointed').subject, cpu('runner', 'bare-checkpointed').reference)).toFixed(2)}×`,
    }),
  ]
}

export const langchainCase: BenchCase = {
  id: '1-langchain',
  group: 1,
  title: 'Runner overhead, non-streamed: LangChainRunner (createAgent graph)',
  async run(context) {
    const loaded = await loadOptional<{ LangChainRunner: RunnerClass }>('@runner/langchain', [
      'LangChainRunner',
    ])
    if (!loaded.ok) return { skipped: loaded.reason }
    const settings = {
      runs: size(context, 3, 10),
      rounds: size(context, 6, 25),
      warmupRuns: size(context, 6, 30),
    }
    const samples = await interleavedRounds(langchainContenders(loaded.module.LangChainRunner), settings)
    return {
      settings: { ...settings, turnsPerRun: 2 },
      rows: [
        ...adapterRows(samples, {
          runner: 'LangChainRunner',
          bare: 'bare createAgent().invoke',
          runnerTarget: targets.langchainOverhead,
        }),
        ...checkpointedRows(samples),
      ],
      notes: [
        "The model is a scripted `BaseChatModel` answering at once, in process: the ratio is CPU time only. The runner and the bare call run the same kind of graph (the runner's with its own `report_status` tool).",
        "The runner's runs are durable by default: LangGraph checkpoints each step in the runner's store (`RunnerCheckpointSaver`, `durability: 'sync'`). The MemorySaver rows show what LangGraph's own checkpointing costs on the bare graph, and the runner against that.",
      ],
    }
  },
}
