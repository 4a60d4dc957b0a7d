import { BaseAgentRunner, type ExecuteResult, InvalidOptionsError, type RunContext } from '@runner/core'
import type { TurnInfo } from '@runner/core/adapter'
import {
  agentNameOf,
  isRunnableAgent,
  type LangChainAgent,
  type LangChainInput,
  type LangChainOutput,
} from './agent.js'
import { callAgent } from './call-agent.js'
import { toRunnableInput } from './input.js'
import { LangChainAttempt } from './langchain-attempt.js'
import { type FailedAttempt, isRetryableLangChainError, normalizeError } from './map-error.js'
import { finalTextOf } from './message-content.js'
import { recursionLimitFor, stepsPerTurnOf } from './recursion-limit.js'
import { createReportStatusTool, type ReportStatusTool } from './report-status-tool.js'
import { RunCallbackHandler } from './run-callback-handler.js'
import { type LangChainRunnerSettings, splitSettings, type WrapUpModel } from './settings.js'
import { wrapTools } from './wrap-tools.js'
import { wrapUpMessages, wrapUpModelOf, wrapUpOutput } from './wrap-up.js'

/**
 * Runs any LangChain Runnable (a `createAgent` agent, a LangGraph graph, a chain, a chat model)
 * under the runner contract of `@runner/core`: activity, `report_status`, one event stream,
 * cancellation and timeouts that reach the model call and the tool, retries, a turn limit with a
 * wrap-up, hooks, usage from `usage_metadata` and a trajectory of every model and tool call.
 *
 * The agent keeps its own loop; the runner listens through a LangChain callback handler and
 * stops the run itself when it must (turn limit, a throwing hook). Tool hooks that deny or
 * rewrite need the tools wrapped: `createAgent({ model, tools: runner.wrapTools([search]) })`.
 *
 * ```ts
 * const runner = new LangChainRunner()
 * const agent = createAgent({ model, tools: [...runner.wrapTools([search]), runner.tools.reportStatus] })
 * const result = await runner.run(agent, 'Why do otters hold hands?')
 * ```
 */
export class LangChainRunner extends BaseAgentRunner<LangChainAgent, LangChainInput, LangChainOutput> {
  readonly #stepsPerTurn: number | undefined
  readonly #wrapUpModel: WrapUpModel | undefined
  #reportStatus: ReportStatusTool | undefined

  constructor(settings: LangChainRunnerSettings = {}) {
    const { runnerOptions, stepsPerTurn, wrapUpModel } = splitSettings(settings)
    super(runnerOptions)
    this.#stepsPerTurn = stepsPerTurn
    this.#wrapUpModel = wrapUpModel
  }

  /**
   * `report_status` as a LangChain tool (wrapped, so its calls go through the tool hooks). Add it
   * once to the agent's tools (`createAgent({ tools: [..., runner.tools.reportStatus] })`, a
   * `ToolNode`, `model.bindTools`): it reports to whichever run calls it. Tell the model to use
   * it with `runner.prompts.reportStatus` in the system prompt.
   */
  override get tools(): { reportStatus: ReportStatusTool } {
    this.#reportStatus ??= createReportStatusTool()
    return { reportStatus: this.#reportStatus }
  }

  /**
   * The tools with the runner's tool hooks around each call (`onToolCallStart` can deny a call or
   * rewrite its input; `tool-call` / `tool-result` events, `onToolCallEnd` and trajectory steps
   * for every call, invalid input included). Wrap the tools where the agent is built:
   * `createAgent({ tools: runner.wrapTools([a, b]) })`, `new ToolNode(runner.wrapTools([a, b]))`.
   * A wrapped tool outside a run is the tool itself; wrapping twice changes nothing; a tool
   * wrapped here works on any `LangChainRunner`.
   */
  wrapTools<T extends unknown[]>(tools: [...T]): T {
    return wrapTools(tools)
  }

  /** The activity's agentType when a run names none: the agent's name (`createAgent({ name })`), else the runner's. */
  protected override agentTypeOf(agent: LangChainAgent): string {
    return (isRunnableAgent(agent) ? agentNameOf(agent) : undefined) ?? this.name
  }

  /**
   * Whether a failed attempt is worth another: LangChain's retryable mark when the integration
   * set one, else HTTP 408, 409, 429, >= 500 and network errors. Never an abort.
   */
  protected override isRetryable(error: unknown): boolean {
    return isRetryableLangChainError(error)
  }

  /** Refuses what is not a Runnable, and a string input the agent has no place for, before the run starts. */
  protected override validate(agent: LangChainAgent, input: LangChainInput): void {
    if (!isRunnableAgent(agent)) {
      throw new InvalidOptionsError(
        [
          {
            field: 'agent',
            message:
              'must be a LangChain Runnable with invoke and streamEvents: a createAgent agent, a compiled LangGraph graph, a chain or a chat model',
          },
        ],
        { subject: 'agent' },
      )
    }
    toRunnableInput(agent, input)
  }

  /** One attempt: the agent's own loop, with the runner listening and stopping it when it must. */
  protected override async execute(
    context: RunContext,
    agent: LangChainAgent,
    input: LangChainInput,
  ): Promise<ExecuteResult<LangChainOutput>> {
    const stepsPerTurn = stepsPerTurnOf(agent, this.#stepsPerTurn)
    const limits: FailedAttempt = {
      startedAt: performance.now(),
      maxTurns: context.maxTurns,
      turns: 0,
      stepsPerTurn,
      recursionLimit: recursionLimitFor(agent, context.maxTurns, stepsPerTurn),
    }
    const attempt = new LangChainAttempt(context)
    try {
      const output = await this.#call(attempt, agent, toRunnableInput(agent, input), limits, {
        recursionLimit: limits.recursionLimit,
      })
      const stop = attempt.stopReason
      if (stop?.kind !== 'wrap-up') return { output, text: finalTextOf(output, attempt.lastAnswer) }

      // The model call past maxTurns was stopped: ask the model, without tools, to wrap up.
      const request = wrapUpMessages(stop.messages, context.prompts.wrapUp)
      const model = await wrapUpModelOf(agent, this.#wrapUpModel, this.name)
      attempt.resume()
      const answer = await this.#call(attempt, model, request, limits, { pendingTurn: stop.turn })
      return { output: wrapUpOutput(agent, request, answer), text: finalTextOf(answer, undefined) }
    } finally {
      attempt.close()
    }
  }

  /**
   * One LangChain call with a callback handler of its own. Throws what the runner stopped it for
   * (a hook error, the turn limit) or LangChain's error in the contract's terms; returns
   * `undefined` when the runner stopped it for the wrap-up.
   */
  async #call(
    attempt: LangChainAttempt,
    runnable: LangChainAgent | WrapUpModel,
    input: unknown,
    limits: FailedAttempt,
    options: { recursionLimit?: number; pendingTurn?: TurnInfo },
  ): Promise<unknown> {
    const { context } = attempt
    const handler = new RunCallbackHandler(
      attempt,
      options.pendingTurn ? { pendingTurn: options.pendingTurn } : {},
    )
    const config = {
      callbacks: [handler],
      signal: attempt.signal,
      ...(options.recursionLimit === undefined ? {} : { recursionLimit: options.recursionLimit }),
      // So that a LangSmith trace points back to its activity.
      metadata: { runner_agent_id: context.agentId, runner_attempt: context.attempt },
    }
    let value: unknown
    let failure: { error: unknown } | undefined
    try {
      value = await callAgent(context, runnable, input, config)
    } catch (error) {
      failure = { error }
    } finally {
      handler.close()
    }
    // When the run was aborted or stopped, that is the outcome, whatever LangChain threw.
    if (context.signal.aborted) throw context.signal.reason
    const stop = attempt.stopReason
    if (stop?.kind === 'error') throw stop.error
    if (stop?.kind === 'wrap-up') return undefined
    if (failure) throw normalizeError(failure.error, { ...limits, turns: context.turn })
    return value
  }
}
