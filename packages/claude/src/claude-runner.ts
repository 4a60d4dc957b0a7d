import type { Anthropic } from '@anthropic-ai/sdk'
import {
  BaseAgentRunner,
  type ExecuteResult,
  type ReportStatusInput,
  type RunContext,
  type RunnerCapabilities,
  type ToolDefinition,
} from '@runner/core'
import { registerSecret, reportStatusTool, runToolLoop, type SessionCodec } from '@runner/core/adapter'
import { toMessages } from './convert-input.js'
import { isRetryableClaudeError } from './is-retryable.js'
import { MessagesConversation } from './messages-conversation.js'
import { resolveAgent } from './resolve-agent.js'
import { claudeSessionMessages } from './session-messages.js'
import { type ClaudeRunnerOwnSettings, type ClaudeRunnerSettings, splitSettings } from './settings.js'
import type { ClaudeAgent, ClaudeInput, ClaudeOutput } from './types.js'

/**
 * Runs Claude agents on the official Anthropic SDK under the runner contract: activity,
 * `report_status`, streaming, cancellation, timeouts, retries, turn limits, hooks, usage and
 * trajectory, durable runs and approvals. Core owns all of that and the tool loop
 * (`runToolLoop`); this class translates the Messages API for it (`MessagesConversation`) and
 * classifies its errors.
 *
 * Durable (`capabilities.durable`): after each answer that calls tools the conversation (the
 * message params) is checkpointed, so a run continues after a crash (`runner.resume(agent,
 * agentId)`, a redelivered pool job) or after a person decided on a `needsApproval` call, in any
 * process, without running a completed tool again.
 *
 * ```ts
 * const runner = new ClaudeRunner({ apiKey: process.env.ANTHROPIC_API_KEY })
 * const result = await runner.run({ model: 'claude-sonnet-5-5', maxTokens: 4096, tools: [search] }, 'Tell me about otters')
 * ```
 */
export class ClaudeRunner extends BaseAgentRunner<ClaudeAgent, ClaudeInput, ClaudeOutput> {
  /** The Anthropic client every request goes through. */
  readonly client: Anthropic
  readonly #own: ClaudeRunnerOwnSettings

  constructor(settings: ClaudeRunnerSettings = {}) {
    const { runnerOptions, client, own } = splitSettings(settings)
    super(runnerOptions)
    this.client = client
    // Its credentials are redacted wherever a run writes text (an error may echo them back).
    registerSecret(client.apiKey)
    registerSecret(client.authToken)
    this.#own = own
  }

  /** Everything, durable runs included: the conversation is checkpointed as JSON. */
  override get capabilities(): RunnerCapabilities {
    return { ...super.capabilities, durable: true }
  }

  /**
   * `report_status` in the shape agents of this runner take (a neutral `defineTool` tool). The
   * runner adds it to every agent (unless its `reportStatus` option is false); list it yourself
   * only to change its position.
   */
  override get tools(): { reportStatus: ToolDefinition<ReportStatusInput, string> } {
    return { reportStatus: reportStatusTool }
  }

  /**
   * Retryable: HTTP 408, 409, 429, 529 and other 5xx, connection errors and timeouts, a connection
   * cut mid-answer, an overloaded or API error inside a stream. Not: other 4xx, aborts, malformed
   * answers, stop reasons. See `isRetryableClaudeError`. The run repeats a failed request in place
   * (the SDK's own retries are off), unless part of its answer already reached the reader.
   */
  protected override isRetryable(error: unknown): boolean {
    return isRetryableClaudeError(error)
  }

  /** The activity's agentType: the agent's `name`, else the runner's name. */
  protected override agentTypeOf(agent: ClaudeAgent): string {
    return typeof agent?.name === 'string' && agent.name !== '' ? agent.name : this.name
  }

  /** Sessions (`RunOptions.session`) carry the Messages API's `MessageParam`s. */
  protected override get sessions(): SessionCodec<ClaudeInput, ClaudeOutput> {
    return claudeSessionMessages
  }

  /**
   * Refuses a bad agent or input before the run starts (no activity, no model call):
   * `InvalidOptionsError` naming every wrong field (`agent.maxTokens: must be a positive integer`).
   */
  protected override validate(agent: ClaudeAgent, input: ClaudeInput): void {
    resolveAgent(agent, this.#own)
    toMessages(input)
  }

  /**
   * One attempt: core's tool loop over the Messages API. A resumed run (`context.resumed`) starts
   * from its checkpoint, which the loop restores, not from `input` (undefined on `runner.resume`).
   */
  protected override async execute(
    context: RunContext,
    agent: ClaudeAgent,
    input: ClaudeInput | undefined,
  ): Promise<ExecuteResult<ClaudeOutput>> {
    const resolved = resolveAgent(agent, this.#own)
    const conversation = new MessagesConversation({
      client: this.client,
      agent: resolved,
      messages: context.resumed ? [] : toMessages(input as ClaudeInput),
      prompts: context.prompts,
      reportStatusPrompt: (this.#own.reportStatus ?? true) === true,
    })
    return runToolLoop(context, conversation, resolved.tools)
  }
}
