/**
 * Case 1, Vercel AI SDK: N sequential two-turn tool runs on the SDK's own `MockLanguageModelV4`.
 * `AISDKRunner` (a settings agent) against bare `generateText` with the same model, tools and
 * instructions, and against the peers users would pick instead that run AI SDK models: Mastra's
 * `Agent` (`@mastra/core`, on the same ai 7 model) and VoltAgent's `Agent` (`@voltagent/core`,
 * which runs ai 6: ai 6's `MockLanguageModelV3` with the same script, see `peers/voltagent`).
 */

import { reportStatusInputSchema } from '@runner/core/adapter'
import { generateText, isStepCount, tool } from 'ai'
import { toolThenTextModel } from '../fakes/ai-sdk-model.ts'
import { adapterRows, type PeerName, peerRows } from '../lib/adapter-rows.ts'
import { type BenchCase, size } from '../lib/case.ts'
import {
  ANSWER,
  expectAnswer,
  INSTRUCTIONS,
  PROMPT,
  REPORT_STATUS_DESCRIPTION,
  SEARCH_DESCRIPTION,
  searchInput,
  searchWeb,
} from '../lib/fixtures.ts'
import { loadOptional } from '../lib/optional.ts'
import { targets, withTarget } from '../lib/results.ts'
import { type Contender, interleavedRounds, sequential } from '../lib/rounds.ts'
import type { RunnerClass, RunnerLike } from '../lib/runner-like.ts'

const search = tool({ description: SEARCH_DESCRIPTION, inputSchema: searchInput, execute: searchWeb })
const reportStatus = tool({
  description: REPORT_STATUS_DESCRIPTION,
  inputSchema: reportStatusInputSchema,
  execute: async () => 'Status updated',
})

export function aiSdkContenders(AISDKRunner: RunnerClass): Contender[] {
  const runnerContender = (name: string, subject: RunnerLike): Contender => ({
    name,
    prepare(runs) {
      const agent = { model: toolThenTextModel(), tools: { search }, stopWhen: isStepCount(10) }
      return sequential(runs, async () =>
        expectAnswer((await subject.run(agent, PROMPT)).text, 'AISDKRunner'),
      )
    },
  })
  return [
    {
      name: 'bare',
      prepare(runs) {
        const model = toolThenTextModel()
        return sequential(runs, async () => {
          const result = await generateText({
            model,
            instructions: INSTRUCTIONS,
            prompt: PROMPT,
            tools: { report_status: reportStatus, search },
            stopWhen: isStepCount(10),
          })
          expectAnswer(result.text, 'generateText')
        })
      },
    },
    runnerContender('runner', new AISDKRunner()),
    runnerContender('runner-no-trajectory', new AISDKRunner({ recordTrajectory: false })),
    runnerContender('runner-not-durable', new AISDKRunner({ durable: false })),
  ]
}

/** The peers take over ten times as long per run as the others: they run a fifth as many runs per batch. */
const peerRuns = (runs: number) => Math.max(3, Math.ceil(runs / 5))

type MastraAgent = { generate(prompt: string, options: { maxSteps: number }): Promise<{ text: string }> }
interface MastraModules {
  agent: {
    Agent: new (config: Record<string, unknown>) => MastraAgent & { __setLogger?(logger: unknown): void }
  }
  tools: { createTool(options: Record<string, unknown>): unknown }
  logger: { noopLogger: unknown }
}

/**
 * Mastra's `Agent` on the lane's model, instructions and tools: no `Mastra` instance (so no
 * storage, memory, observability or telemetry), its logger the no-op one, `maxSteps: 10`.
 */
function mastraContender(mastra: MastraModules): Contender {
  const search = mastra.tools.createTool({
    id: 'search',
    description: SEARCH_DESCRIPTION,
    inputSchema: searchInput,
    execute: async (input: { query: string }) => searchWeb(input),
  })
  const report = mastra.tools.createTool({
    id: 'report_status',
    description: REPORT_STATUS_DESCRIPTION,
    inputSchema: reportStatusInputSchema,
    execute: async () => 'Status updated',
  })
  return {
    name: 'mastra',
    prepare(runs) {
      const agent = new mastra.agent.Agent({
        id: 'bench',
        name: 'bench',
        instructions: INSTRUCTIONS,
        model: toolThenTextModel(),
        tools: { report_status: report, search },
      })
      agent.__setLogger?.(mastra.logger.noopLogger)
      return sequential(peerRuns(runs), async () =>
        expectAnswer((await agent.generate(PROMPT, { maxSteps: 10 })).text, 'Mastra Agent'),
      )
    },
  }
}

/** `voltAgentPeer` of `@runner/bench-peer-voltagent` (loaded at run time: ai 6 types stay out of this package). */
type VoltAgentPeer = (options: {
  instructions: string
  answer: string
  reportStatus: { description: string; inputSchema: unknown }
  search: { description: string; inputSchema: unknown; execute: (input: never) => Promise<string> }
}) => { run(prompt: string): Promise<string> }

/** VoltAgent's `Agent`, configured in `peers/voltagent` (memory off, silent logger, no VoltOps). */
function voltAgentContender(voltAgentPeer: VoltAgentPeer): Contender {
  return {
    name: 'voltagent',
    prepare(runs) {
      const peer = voltAgentPeer({
        instructions: INSTRUCTIONS,
        answer: ANSWER,
        reportStatus: { description: REPORT_STATUS_DESCRIPTION, inputSchema: reportStatusInputSchema },
        search: { description: SEARCH_DESCRIPTION, inputSchema: searchInput, execute: searchWeb as never },
      })
      return sequential(peerRuns(runs), async () => expectAnswer(await peer.run(PROMPT), 'VoltAgent Agent'))
    },
  }
}

async function loadMastra(): Promise<{ ok: true; contender: Contender } | { ok: false; reason: string }> {
  // Mastra's usage telemetry (PostHog) is off; without a `Mastra` instance it would not start anyway.
  process.env.MASTRA_TELEMETRY_DISABLED ??= '1'
  const agent = await loadOptional<MastraModules['agent']>('@mastra/core/agent', ['Agent'])
  const tools = await loadOptional<MastraModules['tools']>('@mastra/core/tools', ['createTool'])
  const logger = await loadOptional<MastraModules['logger']>('@mastra/core/logger', ['noopLogger'])
  if (!agent.ok) return agent
  if (!tools.ok) return tools
  if (!logger.ok) return logger
  return {
    ok: true,
    contender: mastraContender({ agent: agent.module, tools: tools.module, logger: logger.module }),
  }
}

async function loadVoltAgent(): Promise<{ ok: true; contender: Contender } | { ok: false; reason: string }> {
  // In any mode but production, @voltagent/core starts refreshing its model registry from the
  // network as it is imported (models.dev); the agent needs none of it.
  const mode = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  try {
    const loaded = await loadOptional<{ voltAgentPeer: VoltAgentPeer }>('@runner/bench-peer-voltagent', [
      'voltAgentPeer',
    ])
    return loaded.ok ? { ok: true, contender: voltAgentContender(loaded.module.voltAgentPeer) } : loaded
  } finally {
    if (mode === undefined) delete process.env.NODE_ENV
    else process.env.NODE_ENV = mode
  }
}

const peers: PeerName[] = [
  { contender: 'mastra', name: 'Mastra Agent' },
  { contender: 'voltagent', name: 'VoltAgent Agent' },
]

export const aiSdkCase: BenchCase = {
  id: '1-ai-sdk',
  group: 1,
  title: 'Runner overhead, non-streamed: AISDKRunner (generateText settings)',
  async run(context) {
    const loaded = await loadOptional<{ AISDKRunner: RunnerClass }>('@runner/ai-sdk', ['AISDKRunner'])
    if (!loaded.ok) return { skipped: loaded.reason }
    const settings = {
      runs: size(context, 15, 100),
      rounds: size(context, 6, 25),
      warmupRuns: size(context, 30, 200),
    }
    const contenders = aiSdkContenders(loaded.module.AISDKRunner)
    const notes = [
      "The model is `MockLanguageModelV4` answering at once, in process: no HTTP, so the ratio is CPU time only and the runner's fixed cost weighs more than on the HTTP cases.",
      "Peers: Mastra `Agent` (`@mastra/core`) on the same `MockLanguageModelV4`, tools made with its `createTool`, no `Mastra` instance (no storage, memory, observability), its no-op logger, usage telemetry off, `maxSteps: 10`. VoltAgent `Agent` (`@voltagent/core`, which runs ai 6) on ai 6's `MockLanguageModelV3` with the same script, `memory: false`, a silent logger, no VoltOps client, its default in-memory OpenTelemetry spans, `maxSteps: 10`, imported with `NODE_ENV=production` (otherwise it fetches its model registry from the network at import). Both get the same instructions and the same two tools. The peers run a fifth as many runs per batch (they take over ten times as long per run); the ratios are of per-run means.",
    ]
    for (const load of [loadMastra, loadVoltAgent]) {
      const peer = await load()
      if (peer.ok) contenders.push(peer.contender)
      else notes.push(`Peer skipped: ${peer.reason}.`)
    }
    const samples = await interleavedRounds(contenders, settings)
    const names = { runner: 'AISDKRunner', bare: 'bare generateText' }
    const rows = adapterRows(samples, names).map((row) =>
      // The target for this lane: the runner within 15% of bare generateText.
      row.target === targets.adapterOverhead ? withTarget(row, targets.aiSdkOverhead) : row,
    )
    return {
      settings: { ...settings, turnsPerRun: 2 },
      rows: [...rows, ...peerRows(samples, names, peers)],
      notes,
    }
  },
}
