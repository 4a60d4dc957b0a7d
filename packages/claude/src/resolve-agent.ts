import type { TextBlockParam, Tool } from '@anthropic-ai/sdk/resources/messages'
import { type AnyToolDefinition, InvalidOptionsError } from '@runner/core'
import type { InvalidOptionIssue } from '@runner/core/adapter'
import { isToolDefinition, toolsWithReportStatus } from '@runner/core/adapter'
import { toClaudeTool } from './convert-tools.js'
import { modelSettingsIssues } from './model-settings.js'
import type { ClaudeRunnerOwnSettings } from './settings.js'
import type { ClaudeAgent, ClaudeModelSettings } from './types.js'

/** An agent checked and combined with the runner's settings: what one attempt runs. */
export interface ResolvedAgent {
  /** The runner's `model`, else the agent's. */
  model: string
  maxTokens: number
  /** `system`, else `instructions`. */
  system: string | TextBlockParam[] | undefined
  /** The neutral tools `runToolCalls` runs, `report_status` included (unless the runner's `reportStatus` is false). */
  tools: AnyToolDefinition[]
  /** The same tools as Claude sees them. */
  claudeTools: Tool[]
  /** The runner's model settings with the agent's over them. */
  modelSettings: ClaudeModelSettings
}

/**
 * Checks an agent (throwing `InvalidOptionsError` that names every wrong field) and combines it
 * with the runner's settings. `ClaudeRunner.validate` calls it before the run starts.
 */
export function resolveAgent(agent: ClaudeAgent, own: ClaudeRunnerOwnSettings): ResolvedAgent {
  if (typeof agent !== 'object' || agent === null) {
    throw new InvalidOptionsError(
      [{ field: 'agent', message: 'must be an object ({ model, maxTokens, tools?, ... })' }],
      {
        subject: 'Claude agent',
      },
    )
  }
  const issues: InvalidOptionIssue[] = []
  const model = own.model ?? agent.model
  if (typeof model !== 'string' || model.trim() === '') {
    issues.push({
      field: 'agent.model',
      message: 'must be a non-empty string (a Claude model id), or give the runner a model',
    })
  }
  const { maxTokens } = agent
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1) {
    issues.push({
      field: 'agent.maxTokens',
      message:
        'must be a positive integer: the most tokens one model call may generate (the API requires it)',
    })
  }
  const { system, instructions } = agent
  if (
    system !== undefined &&
    typeof system !== 'string' &&
    !(
      Array.isArray(system) &&
      system.every((block) => block?.type === 'text' && typeof block.text === 'string')
    )
  ) {
    issues.push({ field: 'agent.system', message: 'must be a string or an array of text blocks' })
  }
  if (instructions !== undefined && typeof instructions !== 'string') {
    issues.push({ field: 'agent.instructions', message: 'must be a string' })
  }
  if (agent.name !== undefined && (typeof agent.name !== 'string' || agent.name === '')) {
    issues.push({ field: 'agent.name', message: 'must be a non-empty string' })
  }
  if (agent.tools !== undefined && !(Array.isArray(agent.tools) && agent.tools.every(isToolDefinition))) {
    issues.push({ field: 'agent.tools', message: 'must be an array of tools made with defineTool' })
  }
  if (agent.modelSettings !== undefined) {
    issues.push(...modelSettingsIssues(agent.modelSettings, 'agent.modelSettings'))
  }
  if (issues.length > 0) throw new InvalidOptionsError(issues, { subject: 'Claude agent' })

  const tools = toolsWithReportStatus(agent.tools, own.reportStatus ?? true)
  return {
    model,
    maxTokens,
    system: system ?? instructions,
    tools,
    claudeTools: tools.map(toClaudeTool),
    modelSettings: { ...own.modelSettings, ...agent.modelSettings },
  }
}
