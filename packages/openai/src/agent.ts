import { type AnyToolDefinition, InvalidOptionsError } from '@runner/core'
import { isToolDefinition, parseOrThrow } from '@runner/core/adapter'
import { z } from 'zod'
import { checkSettingsForApi, modelSettingsSchema, type OpenAIModelSettings } from './model-settings.js'

/** Which OpenAI API an agent talks to. */
export type OpenAIApi = 'chat' | 'responses'

/**
 * An agent for `OpenAIRunner`: a model, its instructions and its tools. Plain data: one agent
 * can run many times, concurrently, and on `ClaudeRunner` too (same `defineTool` tools). Fields
 * this runner does not know (another runner's, such as `maxTokens`) are ignored, so that one
 * definition can be shared; the known ones are checked before any model call.
 */
export interface OpenAIAgent {
  /**
   * Model name as the server knows it (`gpt-5.4-mini`, `qwen3` on Ollama...). Required unless
   * the runner has a `model` of its own, which wins.
   */
  model: string
  /** The activity's `agentType` when a run names none (`researcher`). Default: the runner's name. */
  name?: string
  /**
   * The system prompt: a `system` message first on Chat Completions, `instructions` on Responses.
   * `prompts.reportStatus` is appended to it unless the runner's `reportStatus` option says otherwise.
   */
  instructions?: string
  /**
   * Tools the model may call, made with `defineTool` from `@runner/core` (zod input schema). The
   * runner adds `report_status` itself (unless one of these is named so). Names must be unique.
   */
  tools?: ReadonlyArray<AnyToolDefinition>
  /**
   * `chat` (default): Chat Completions, which every OpenAI-compatible server speaks (Ollama,
   * vLLM, LM Studio, gateways). `responses`: the Responses API (OpenAI; reasoning summaries).
   */
  api?: OpenAIApi
  /** Sampling and request settings sent with every model call. Default: none (the server's defaults). */
  modelSettings?: OpenAIModelSettings
}

/** An agent after validation, with its defaults applied. */
export interface ResolvedAgent {
  model: string
  instructions: string | undefined
  tools: ReadonlyArray<AnyToolDefinition>
  api: OpenAIApi
  modelSettings: OpenAIModelSettings
}

const toolSchema = z.custom<AnyToolDefinition>(
  isToolDefinition,
  'must be a tool made with defineTool() from @runner/core',
)

const agentSchema = z.object(
  {
    model: z.string({ error: 'must be a model name' }).min(1, 'must be a model name').optional(),
    name: z.string().min(1, 'must be a non-empty string').optional(),
    instructions: z.string({ error: 'must be a string' }).optional(),
    tools: z.array(toolSchema, { error: 'must be a list of defineTool() tools' }).optional(),
    api: z.enum(['chat', 'responses'], { error: "must be 'chat' or 'responses'" }).optional(),
    modelSettings: modelSettingsSchema.optional(),
  },
  { error: 'must be an object { model, instructions?, tools?, api?, modelSettings? }' },
)

/**
 * Checks an agent and applies its defaults (`runnerModel`, the runner's `model`, wins over the
 * agent's); throws `InvalidOptionsError` naming the bad fields.
 */
export function resolveAgent(agent: OpenAIAgent, runnerModel: string | undefined): ResolvedAgent {
  const parsed = parseOrThrow(agentSchema, agent, 'agent', 'agent')
  const model = runnerModel ?? parsed.model
  if (model === undefined) {
    throw new InvalidOptionsError(
      [{ field: 'agent.model', message: 'must be a model name (or give the runner a model)' }],
      { subject: 'agent' },
    )
  }
  const api = parsed.api ?? 'chat'
  const modelSettings = (parsed.modelSettings ?? {}) as OpenAIModelSettings
  checkSettingsForApi(modelSettings, api)
  return {
    model,
    instructions: parsed.instructions,
    // The agent's own tool objects (zod would copy them).
    tools: agent.tools ?? [],
    api,
    modelSettings,
  }
}
