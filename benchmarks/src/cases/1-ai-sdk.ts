/**
 * Case 1, Vercel AI SDK: N sequential two-turn tool runs on the SDK's own `MockLanguageModelV4`.
 * `AISDKRunner` (a settings agent) against bare `generateText` with the same model, tools and
 * instructions. No peer: the AI SDK is its own loop.
 */

import { reportStatusInputSchema } from '@runner/core/adapter'
import { generateText, isStepCount, tool } from 'ai'
import { toolThenTextModel } from '../fakes/ai-sdk-model.ts'
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
    const samples = await interleavedRounds(aiSdkContenders(loaded.module.AISDKRunner), settings)
    return {
      settings: { ...settings, turnsPerRun: 2 },
      rows: adapterRows(samples, { runner: 'AISDKRunner', bare: 'bare generateText' }),
      notes: [
        "The model is `MockLanguageModelV4` answering at once, in process: no HTTP, so the ratio is CPU time only and the runner's fixed cost weighs more than on the HTTP cases.",
      ],
    }
  },
}
