import type {
  MessageCreateParamsBase,
  MessageParam,
  TextBlockParam,
} from '@anthropic-ai/sdk/resources/messages'
import type { RunnerPrompts } from '@runner/core'
import { modelSettingsFields } from './model-settings.js'
import type { ResolvedAgent } from './resolve-agent.js'
import { withToolBlocksAsText } from './wrap-up-messages.js'

/** What one request is built from. */
export interface RequestParts {
  agent: ResolvedAgent
  /** The conversation so far (the wrap-up prompt included on wrap-up turns). */
  messages: ReadonlyArray<MessageParam>
  /** A wrap-up turn of `maxTurnsRecovery`: no tools, no tool choice, tool blocks as text. */
  wrapUp: boolean
  prompts: RunnerPrompts
  /** Append `prompts.reportStatus` to the system prompt (not on wrap-up turns, which offer no tools). */
  reportStatusPrompt: boolean
}

function systemPrompt(
  system: string | TextBlockParam[] | undefined,
  addition: string | undefined,
): string | TextBlockParam[] | undefined {
  if (!addition) return system
  if (system === undefined || system === '') return addition
  if (typeof system === 'string') return `${system}\n\n${addition}`
  // After the agent's blocks, so that a cache breakpoint on them still covers a stable prefix.
  return [...system, { type: 'text', text: addition }]
}

/** The body of one Messages request (without `stream`, which the call adds). */
export function buildRequest(parts: RequestParts): MessageCreateParamsBase {
  const { agent, wrapUp } = parts
  const offersTools = !wrapUp && agent.claudeTools.length > 0
  const body: MessageCreateParamsBase = {
    ...modelSettingsFields(agent.modelSettings, { offersTools }),
    model: agent.model,
    max_tokens: agent.maxTokens,
    messages: wrapUp ? withToolBlocksAsText(parts.messages) : [...parts.messages],
  }
  const system = systemPrompt(
    agent.system,
    parts.reportStatusPrompt && !wrapUp ? parts.prompts.reportStatus : undefined,
  )
  if (system !== undefined && system !== '') body.system = system
  if (offersTools) body.tools = agent.claudeTools
  return body
}
