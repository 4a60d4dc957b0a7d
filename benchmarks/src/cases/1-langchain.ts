/**
 * Case 1, LangChain: N sequential two-turn tool runs of a `createAgent` graph on a scripted chat
 * model (in process, instant). `LangChainRunner` running the graph against the bare
 * `graph.invoke(...)`. No peer: LangGraph is its own loop.
 */

import { tool } from '@langchain/core/tools'
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
import { targets } from '../lib/results.ts'
import { type Contender, interleavedRounds, sequential } from '../lib/rounds.ts'
import type { RunnerClass, RunnerLike } from '../lib/runner-like.ts'

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

function graph(reportStatus: typeof bareReportStatus) {
  return createAgent({
    model: new ScriptedChatModel(),
    tools: [reportStatus, search],
    systemPrompt: INSTRUCTIONS,
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
    runnerContender('runner', new LangChainRunner()),
    runnerContender('runner-no-trajectory', new LangChainRunner({ recordTrajectory: false })),
    runnerContender('runner-not-durable', new LangChainRunner({ durable: false })),
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
      rows: adapterRows(samples, {
        runner: 'LangChainRunner',
        bare: 'bare createAgent().invoke',
        runnerTarget: targets.langchainOverhead,
      }),
      notes: [
        "The model is a scripted `BaseChatModel` answering at once, in process: the ratio is CPU time only. The runner and the bare call run the same kind of graph (the runner's with its own `report_status` tool).",
      ],
    }
  },
}
