/**
 * VoltAgent's `Agent` (`@voltagent/core`) for case 1-ai-sdk. VoltAgent wants ai 6 (a peer
 * dependency), so it lives in this package of its own, where `ai` is ai 6 and the model is ai 6's
 * own test double, `MockLanguageModelV3` (LanguageModelV3, the spec ai 6 runs). The model behaves
 * as the AI SDK lane's `toolThenTextModel`: a `search` call, then the answer.
 */
import { Agent, createTool } from '@voltagent/core'
import { MockLanguageModelV3 } from 'ai/test'
import type { z } from 'zod'

type GenerateResult = Awaited<ReturnType<MockLanguageModelV3['doGenerate']>>

const usage: GenerateResult['usage'] = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
}

let calls = 0

/** Two-turn tool runs: a tool call unless the last prompt message is a tool result, then `answer`. */
function toolThenTextModelV3(answer: string): MockLanguageModelV3 {
  return new MockLanguageModelV3({
    doGenerate: async (options): Promise<GenerateResult> => {
      if (options.prompt.at(-1)?.role === 'tool') {
        return {
          content: [{ type: 'text', text: answer }],
          finishReason: { unified: 'stop', raw: 'stop' },
          usage,
          warnings: [],
        }
      }
      return {
        content: [
          {
            type: 'tool-call',
            toolCallId: `call_${++calls}`,
            toolName: 'search',
            input: '{"query":"sea otters"}',
          },
        ],
        finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
        usage,
        warnings: [],
      }
    },
  })
}

/** A logger that writes nothing: VoltAgent logs every run at `info` otherwise. */
const silent = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  fatal() {},
  child() {
    return silent
  },
}

export interface VoltAgentPeerOptions {
  instructions: string
  answer: string
  reportStatus: { description: string; inputSchema: z.ZodType }
  search: { description: string; inputSchema: z.ZodType; execute: (input: never) => Promise<string> }
}

/**
 * A VoltAgent agent with the lane's instructions and tools on a fresh model: `memory: false` (no
 * conversation storage), a silent logger, no VoltOps client (nothing exported); its observability
 * stays VoltAgent's default (OpenTelemetry spans kept in memory, as every VoltAgent run has them).
 * Import this module with `NODE_ENV=production`: in any other mode `@voltagent/core` starts
 * refreshing its model registry from the network as it is imported.
 */
export function voltAgentPeer(options: VoltAgentPeerOptions): { run(prompt: string): Promise<string> } {
  const reportStatus = createTool({
    name: 'report_status',
    description: options.reportStatus.description,
    parameters: options.reportStatus.inputSchema,
    execute: async () => 'Status updated',
  })
  const search = createTool({
    name: 'search',
    description: options.search.description,
    parameters: options.search.inputSchema,
    execute: async (input) => options.search.execute(input as never),
  })
  const agent = new Agent({
    name: 'bench',
    instructions: options.instructions,
    model: toolThenTextModelV3(options.answer),
    tools: [reportStatus, search],
    memory: false,
    maxSteps: 10,
    logger: silent as never,
  })
  return {
    async run(prompt) {
      // VoltAgent sends its instructions as a system message; the AI SDK warns on the console at
      // each call unless told that this is intended (an AI SDK option VoltAgent passes through).
      return (await agent.generateText(prompt, { allowSystemInMessages: true } as never)).text
    },
  }
}
