import { InvalidOptionsError } from '@runner/core'
import { ToolLoopAgent, type ToolLoopAgentSettings, type ToolSet } from 'ai'

// biome-ignore lint/suspicious/noExplicitAny: any ToolLoopAgent, whatever its call options, tools, runtime context and output
export type AnyToolLoopAgent = ToolLoopAgent<any, any, any, any>

/**
 * An agent given as settings, run with `generateText` (`run`) or `streamText` (`runStreamed`):
 * the settings of a `ToolLoopAgent` without its agent-only `prepareCall` and `callOptionsSchema`.
 * `model` is required; everything else (`instructions`, `tools`, `stopWhen`, `prepareStep`,
 * `toolChoice`, `activeTools`, `output`, `temperature`, `providerOptions`, `headers`, the
 * callbacks...) means what it means in the AI SDK, with four differences:
 * - `stopWhen` defaults to none (not `isStepCount(1)`): the loop goes on until the model answers
 *   without calling a tool, a condition of `stopWhen` is met, or the run's `maxTurns` is reached.
 * - `report_status` is added to `tools` and `prompts.reportStatus` to `instructions` (see the
 *   runner's `reportStatus` setting).
 * - `id`, when set, is the activity's `agentType`.
 * - `maxRetries` is the runner's (0 by default): the run retries failed requests, not the AI SDK.
 */
export type AISDKSettings<TOOLS extends ToolSet = ToolSet> = Omit<
  ToolLoopAgentSettings<never, TOOLS>,
  'prepareCall' | 'callOptionsSchema'
>

/**
 * What `AISDKRunner` runs: a `ToolLoopAgent` (its `generate()` / `stream()`), or `AISDKSettings`
 * for `generateText` / `streamText`.
 */
// biome-ignore lint/suspicious/noExplicitAny: settings of any tool set
export type AISDKAgent = AnyToolLoopAgent | AISDKSettings<any>

/** Whether an agent is a `ToolLoopAgent` (of this or another copy of `ai`) rather than settings. */
export function isToolLoopAgent(agent: AISDKAgent): agent is AnyToolLoopAgent {
  if (agent instanceof ToolLoopAgent) return true
  const candidate = agent as { version?: unknown; generate?: unknown; stream?: unknown }
  return (
    candidate.version === 'agent-v1' &&
    typeof candidate.generate === 'function' &&
    typeof candidate.stream === 'function'
  )
}

/**
 * The settings a `ToolLoopAgent` was built with. `ToolLoopAgent` keeps them in a field that its
 * types mark private; the runner reads them to run the agent with its per-run controls (turn
 * limit, wrap-up, tool hooks), since `generate()` / `stream()` take none of these per call.
 */
// biome-ignore lint/suspicious/noExplicitAny: the settings of any ToolLoopAgent
export function toolLoopSettingsOf(agent: AnyToolLoopAgent): ToolLoopAgentSettings<any, any, any, any> {
  const settings: unknown = Reflect.get(agent, 'settings')
  if (typeof settings !== 'object' || settings === null || !('model' in settings)) {
    throw new InvalidOptionsError(
      [
        {
          field: 'agent',
          message:
            'is an AI SDK Agent whose settings cannot be read: AISDKRunner runs a ToolLoopAgent of ai 7 (new ToolLoopAgent({ model, tools, ... })) or generateText/streamText settings ({ model, tools, ... })',
        },
      ],
      { subject: 'agent' },
    )
  }
  // biome-ignore lint/suspicious/noExplicitAny: see the return type
  return settings as ToolLoopAgentSettings<any, any, any, any>
}

/** The activity's agentType of an agent that has an `id`. */
export function agentIdOf(agent: AISDKAgent): string | undefined {
  const id = isToolLoopAgent(agent) ? agent.id : (agent as { id?: unknown }).id
  return typeof id === 'string' && id !== '' ? id : undefined
}

/**
 * Refuses what cannot be run before anything starts (`InvalidOptionsError` naming the field):
 * an agent that is neither a ToolLoopAgent nor settings with a `model`, tools that are not an
 * object of tools, a tool whose Standard Schema cannot convert itself to JSON Schema, a `stopWhen` that is not a condition (or a list of them), a `prepareStep` that
 * is not a function. The AI SDK checks the rest when it is called.
 */
export function checkAgent(agent: AISDKAgent): void {
  if (typeof agent !== 'object' || agent === null) {
    throw invalid('agent', 'must be a ToolLoopAgent or generateText/streamText settings ({ model, ... })')
  }
  const settings = isToolLoopAgent(agent) ? toolLoopSettingsOf(agent) : agent
  const prefix = isToolLoopAgent(agent) ? 'agent.settings' : 'agent'
  const model: unknown = settings.model
  if (!(typeof model === 'string' && model !== '') && (typeof model !== 'object' || model === null)) {
    throw invalid(
      `${prefix}.model`,
      'must be a language model (openai("gpt-5.4-mini"), a model id string...)',
    )
  }
  const tools: unknown = settings.tools
  if (tools !== undefined) {
    if (typeof tools !== 'object' || tools === null || Array.isArray(tools)) {
      throw invalid(`${prefix}.tools`, 'must be an object of AI SDK tools ({ search: tool({ ... }) })')
    }
    for (const [name, value] of Object.entries(tools)) {
      if (typeof value !== 'object' || value === null) {
        throw invalid(
          `${prefix}.tools.${name}`,
          'must be an AI SDK tool (tool({ description, inputSchema, execute }))',
        )
      }
      const vendor = unconvertibleVendor((value as { inputSchema?: unknown }).inputSchema)
      if (vendor !== undefined) {
        throw invalid(
          `${prefix}.tools.${name}.inputSchema`,
          `is a ${vendor} schema that cannot convert itself to JSON Schema (it has no ~standard.jsonSchema), which the AI SDK needs for the model: for valibot give toStandardJsonSchema(schema) of @valibot/to-json-schema, else jsonSchema(theJsonSchema, { validate }) of 'ai'`,
        )
      }
    }
  }
  const stopWhen: unknown = settings.stopWhen
  if (
    stopWhen !== undefined &&
    typeof stopWhen !== 'function' &&
    !(Array.isArray(stopWhen) && stopWhen.every((condition) => typeof condition === 'function'))
  ) {
    throw invalid(
      `${prefix}.stopWhen`,
      'must be a stop condition (isStepCount(5), hasToolCall("done")...) or a list of them',
    )
  }
  if (settings.prepareStep !== undefined && typeof settings.prepareStep !== 'function') {
    throw invalid(`${prefix}.prepareStep`, 'must be a function')
  }
}

/**
 * The vendor of a Standard Schema the AI SDK cannot give the model (not zod, no
 * `~standard.jsonSchema`): the AI SDK would fail the run at its first model request.
 */
function unconvertibleVendor(schema: unknown): string | undefined {
  if ((typeof schema !== 'object' && typeof schema !== 'function') || schema === null) return undefined
  const standard = (schema as { '~standard'?: { vendor?: unknown; jsonSchema?: unknown } })['~standard']
  if (typeof standard !== 'object' || standard === null) return undefined
  if (standard.vendor === 'zod' || standard.jsonSchema != null) return undefined
  return String(standard.vendor)
}

function invalid(field: string, message: string): InvalidOptionsError {
  return new InvalidOptionsError([{ field, message }], { subject: 'agent' })
}
