import type { MessageCreateParamsBase, ToolChoice } from '@anthropic-ai/sdk/resources/messages'
import type { InvalidOptionIssue } from '@runner/core/adapter'
import type { ClaudeModelSettings, ClaudeToolChoice } from './types.js'

/** Request fields the runner owns: `extraBody` may not set them. */
export const ownedRequestFields = ['model', 'messages', 'system', 'tools', 'max_tokens', 'stream'] as const

const efforts = new Set(['low', 'medium', 'high', 'xhigh', 'max'])
const displays = new Set(['summarized', 'omitted'])
const toolChoices = new Set(['auto', 'any', 'required', 'none'])

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * What is wrong with model settings, field by field (`agent.modelSettings.thinking.budgetTokens:
 * must be a positive integer`). Keys this runner does not know are not checked: they belong to
 * other runners sharing the definition.
 */
export function modelSettingsIssues(value: unknown, prefix: string): InvalidOptionIssue[] {
  if (!isPlainObject(value)) return [{ field: prefix, message: 'must be an object' }]
  const settings = value as Record<keyof ClaudeModelSettings, unknown>
  const issues: InvalidOptionIssue[] = []
  const issue = (field: string, message: string) => issues.push({ field: `${prefix}.${field}`, message })

  const thinking = settings.thinking
  if (thinking !== undefined) {
    if (!isPlainObject(thinking))
      issue('thinking', 'must be { budgetTokens }, { type: "adaptive" } or { type: "disabled" }')
    else if (thinking.type === undefined || thinking.type === 'enabled') {
      const budget = thinking.budgetTokens
      if (typeof budget !== 'number' || !Number.isInteger(budget) || budget < 1) {
        issue('thinking.budgetTokens', 'must be a positive integer (at least 1024, and below maxTokens)')
      }
    } else if (thinking.type !== 'adaptive' && thinking.type !== 'disabled') {
      issue('thinking.type', 'must be "enabled" (with budgetTokens), "adaptive" or "disabled"')
    }
    if (
      isPlainObject(thinking) &&
      thinking.display !== undefined &&
      !displays.has(thinking.display as string)
    ) {
      issue('thinking.display', 'must be "summarized" or "omitted"')
    }
  }
  if (settings.effort !== undefined && !efforts.has(settings.effort as string)) {
    issue('effort', 'must be "low", "medium", "high", "xhigh" or "max"')
  }
  const toolChoice = settings.toolChoice
  if (
    toolChoice !== undefined &&
    !(typeof toolChoice === 'string' && toolChoices.has(toolChoice)) &&
    !(isPlainObject(toolChoice) && typeof toolChoice.name === 'string' && toolChoice.name !== '')
  ) {
    issue('toolChoice', 'must be "auto", "any" (or "required"), "none" or { name: "<tool name>" }')
  }
  if (settings.parallelToolCalls !== undefined && typeof settings.parallelToolCalls !== 'boolean') {
    issue('parallelToolCalls', 'must be true or false')
  }
  const stops = settings.stopSequences
  if (
    stops !== undefined &&
    !(Array.isArray(stops) && stops.every((stop) => typeof stop === 'string' && stop !== ''))
  ) {
    issue('stopSequences', 'must be an array of non-empty strings')
  }
  if (settings.userId !== undefined && typeof settings.userId !== 'string') {
    issue('userId', 'must be a string (an opaque id of your user)')
  }
  const cache = settings.cacheControl
  if (cache !== undefined && !(isPlainObject(cache) && cache.type === 'ephemeral')) {
    issue('cacheControl', 'must be { type: "ephemeral", ttl?: "5m" | "1h" }')
  }
  const extra = settings.extraBody
  if (extra !== undefined) {
    if (!isPlainObject(extra)) issue('extraBody', 'must be an object of request body fields')
    else {
      for (const field of ownedRequestFields) {
        if (field in extra) issue(`extraBody.${field}`, 'is set by the runner and cannot be overridden here')
      }
    }
  }
  return issues
}

function toolChoiceOf(
  choice: ClaudeToolChoice | undefined,
  parallel: boolean | undefined,
): ToolChoice | undefined {
  const disable = parallel === false ? { disable_parallel_tool_use: true } : {}
  if (choice === undefined) return parallel === false ? { type: 'auto', ...disable } : undefined
  if (choice === 'none') return { type: 'none' }
  if (choice === 'auto') return { type: 'auto', ...disable }
  if (choice === 'any' || choice === 'required') return { type: 'any', ...disable }
  return { type: 'tool', name: choice.name, ...disable }
}

/**
 * The request fields of (already validated) model settings, `extraBody` last. On a turn that
 * offers no tools (a wrap-up turn, an agent without tools), the tool choice is left out.
 */
export function modelSettingsFields(
  settings: ClaudeModelSettings,
  options: { offersTools: boolean },
): Partial<MessageCreateParamsBase> {
  const fields: Partial<MessageCreateParamsBase> = {}
  const { thinking } = settings
  if (thinking) {
    if (thinking.type === 'adaptive') {
      fields.thinking = { type: 'adaptive', ...(thinking.display ? { display: thinking.display } : {}) }
    } else if (thinking.type === 'disabled') {
      fields.thinking = { type: 'disabled' }
    } else {
      fields.thinking = {
        type: 'enabled',
        budget_tokens: thinking.budgetTokens,
        ...(thinking.display ? { display: thinking.display } : {}),
      }
    }
  }
  if (settings.effort) fields.output_config = { effort: settings.effort }
  if (options.offersTools) {
    const toolChoice = toolChoiceOf(settings.toolChoice, settings.parallelToolCalls)
    if (toolChoice) fields.tool_choice = toolChoice
  }
  if (settings.stopSequences) fields.stop_sequences = settings.stopSequences
  if (settings.userId !== undefined) fields.metadata = { user_id: settings.userId }
  if (settings.cacheControl) fields.cache_control = settings.cacheControl
  const merged = { ...fields, ...(settings.extraBody as Partial<MessageCreateParamsBase> | undefined) }
  // A tool choice without tools is refused by the API: none on wrap-up turns, extraBody's included.
  if (!options.offersTools) delete merged.tool_choice
  return merged
}
