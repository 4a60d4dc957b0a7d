import {
  BaseAgentRunner,
  type ExecuteResult,
  type ReportStatusInput,
  type RunContext,
  type RunnerCapabilities,
  type RunnerPrompts,
  type ToolDefinition,
} from '@runner/core'
import {
  registerSecret,
  reportStatusTool,
  runToolLoop,
  type SessionCodec,
  toolsWithReportStatus,
} from '@runner/core/adapter'
import { AzureOpenAI, type default as OpenAI } from 'openai'
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions'
import type { ResponseInputItem } from 'openai/resources/responses/responses'
import { type OpenAIAgent, type ResolvedAgent, resolveAgent } from './agent.js'
import { ChatConversation } from './chat-api.js'
import { inputMessages, type OpenAIInput, type OpenAIOutput } from './conversation.js'
import { isRetryableOpenAIError } from './map-error.js'
import { ResponsesConversation } from './responses-api.js'
import { openAISessionMessages } from './session-messages.js'
import { type OpenAIRunnerSettings, type ReportStatusMode, splitSettings } from './settings.js'

/**
 * Runs agents on the official `openai` SDK (v7), Chat Completions or Responses, under the runner
 * contract of `@runner/core`: activity, `report_status`, streaming, cancellation, timeouts,
 * retries, turn limits, hooks, usage and trajectory, durable runs and approvals. It only
 * translates the API: the tool loop (`runToolLoop`) and the lifecycle are core's. Every request
 * goes with the SDK's own retries off; a failed request is repeated in place by the run's
 * `retry`, each retry on the activity.
 *
 * Durable (`capabilities.durable`): after each answer that calls tools the conversation (the
 * messages or input items, in the API's own shape) is checkpointed, so a run continues after a
 * crash (`runner.resume(agent, agentId)`, a redelivered pool job) or after a person decided on a
 * `needsApproval` call, in any process, without running a completed tool again.
 *
 * ```ts
 * const runner = new OpenAIRunner() // OPENAI_API_KEY, or { apiKey, baseURL } or { client }
 * const result = await runner.run({ model: 'gpt-5.4-mini', instructions: 'Be brief.', tools: [search] }, 'Otters?')
 * ```
 */
export class OpenAIRunner extends BaseAgentRunner<OpenAIAgent, OpenAIInput, OpenAIOutput> {
  /** The client every model call goes through. */
  readonly client: OpenAI
  /** `client` with the SDK's own retries off: what a run's requests go through. */
  readonly #requests: OpenAI
  readonly #reportStatus: ReportStatusMode
  readonly #model: string | undefined
  /** Who serves the models of this runner's client (`openai`, or `azure.ai.openai`). */
  readonly #provider: string
  /** The agent as `validate` resolved it, for the run's first `execute` (by agent object). */
  readonly #validated = new WeakMap<object, { resolved: ResolvedAgent; fields: unknown[] }>()

  constructor(settings: OpenAIRunnerSettings = {}) {
    const { client, runnerOptions, reportStatus, model } = splitSettings(settings)
    super(runnerOptions)
    this.client = client
    // Its key is redacted wherever a run writes text (a 401 echoes it back in the error message).
    if (typeof client.apiKey === 'string') registerSecret(client.apiKey)
    // The requests of a run go with the SDK's own retries off (the run's `retry` repeats them, on
    // the activity): one derived client, made once, rather than an option on every request.
    this.#requests = client.withOptions({ maxRetries: 0 })
    this.#reportStatus = reportStatus
    this.#model = model
    this.#provider = providerOf(client)
  }

  /** Everything, durable runs included: the conversation of either API is checkpointed as JSON. */
  override get capabilities(): RunnerCapabilities {
    return { ...super.capabilities, durable: true }
  }

  /**
   * `report_status` as this runner's tools are: a `defineTool` tool (core's `reportStatusTool`).
   * The runner adds it to every agent; put it in `agent.tools` only to run it on another runner.
   */
  override get tools(): { reportStatus: ToolDefinition<ReportStatusInput, string> } {
    return { reportStatus: reportStatusTool }
  }

  /** The activity's agentType when a run names none: the agent's `name`, else the runner's. */
  protected override agentTypeOf(agent: OpenAIAgent): string {
    const name = (agent as Partial<OpenAIAgent> | undefined)?.name
    return typeof name === 'string' && name !== '' ? name : this.name
  }

  /**
   * Whether a failed model request is worth another (while `retry.attempts` allows): connection
   * errors and timeouts (a stream cut mid-answer included, unless the reader already saw its
   * text), HTTP 408, 409, 429 and >= 500, in-stream server errors. Never an abort, 400, 401, 403,
   * 404, 422 or an answer that is not valid JSON.
   */
  protected override isRetryable(error: unknown): boolean {
    return isRetryableOpenAIError(error) ?? super.isRetryable(error)
  }

  /**
   * Sessions (`RunOptions.session`) carry the agent's API messages: a session is kept in the shape
   * of one API (`chat` or `responses`), so use it with agents of that API.
   */
  protected override get sessions(): SessionCodec<OpenAIInput, OpenAIOutput> {
    return openAISessionMessages
  }

  /** Refuses a bad agent before the run starts (no activity is created): `InvalidOptionsError` naming the field. */
  protected override validate(agent: OpenAIAgent): void {
    const resolved = resolveAgent(agent, this.#model)
    toolsWithReportStatus(resolved.tools, this.#reportStatus)
    if (typeof agent === 'object' && agent !== null)
      this.#validated.set(agent, { resolved, fields: fieldsOf(agent) })
  }

  /**
   * One attempt: core's tool loop, driven by the conversation of the agent's API. A resumed run
   * (`context.resumed`) starts from its checkpoint, which the loop restores, not from `input`
   * (undefined on `runner.resume`).
   */
  protected override async execute(
    context: RunContext,
    agent: OpenAIAgent,
    input: OpenAIInput | undefined,
  ): Promise<ExecuteResult<OpenAIOutput>> {
    // Validated moments ago when this is the run's first attempt; resolved again otherwise.
    const validated = this.#validated.get(agent)
    if (validated) this.#validated.delete(agent)
    const now = validated ? fieldsOf(agent) : []
    const same = validated?.fields.every((field, index) => Object.is(field, now[index])) === true
    const resolved = validated && same ? validated.resolved : resolveAgent(agent, this.#model)
    const tools = toolsWithReportStatus(resolved.tools, this.#reportStatus)
    const instructions = instructionsOf(resolved.instructions, context.prompts, this.#reportStatus)
    const resumed = context.resumed !== undefined
    if (resolved.api === 'responses') {
      const items = resumed ? [] : inputMessages<ResponseInputItem>(input as OpenAIInput, 'responses')
      const conversation = new ResponsesConversation(
        this.#requests,
        resolved,
        instructions,
        items,
        this.#provider,
      )
      return runToolLoop(context, conversation, tools)
    }
    const messages = resumed ? [] : inputMessages<ChatCompletionMessageParam>(input as OpenAIInput, 'chat')
    const conversation = new ChatConversation(
      this.#requests,
      resolved,
      instructions,
      messages,
      this.#provider,
    )
    return runToolLoop(context, conversation, tools)
  }
}

/** The agent's instructions, with `prompts.reportStatus` appended when the mode asks for it. */
/**
 * The OpenTelemetry GenAI provider name of a client: `azure.ai.openai` for an `AzureOpenAI`
 * client or a base URL on Azure (`*.openai.azure.com`, `*.services.ai.azure.com`), else `openai`.
 */
function providerOf(client: OpenAI): string {
  if (client instanceof AzureOpenAI || client.constructor?.name === 'AzureOpenAI') return 'azure.ai.openai'
  let host = ''
  try {
    host = new URL(client.baseURL).hostname
  } catch {}
  return /\.(openai|services\.ai|cognitiveservices)\.azure\.com$/.test(host) ? 'azure.ai.openai' : 'openai'
}

/** What an agent was resolved from: a field replaced since (or a tool added) means resolving again. */
function fieldsOf(agent: OpenAIAgent): unknown[] {
  const { model, name, instructions, tools, api, modelSettings } = agent
  return [model, name, instructions, tools, tools?.length, api, modelSettings]
}

function instructionsOf(
  instructions: string | undefined,
  prompts: RunnerPrompts,
  mode: ReportStatusMode,
): string {
  return [instructions, mode === true ? prompts.reportStatus : undefined]
    .filter((part): part is string => typeof part === 'string' && part.trim() !== '')
    .join('\n\n')
}
