import type { BaseMessage } from '@langchain/core/messages'
import type { Runnable, RunnableConfig } from '@langchain/core/runnables'
import {
  BaseAgentRunner,
  type ExecuteResult,
  InvalidOptionsError,
  type RunContext,
  type RunnerCapabilities,
} from '@runner/core'
import { abortReason, type SessionCodec } from '@runner/core/adapter'
import {
  agentNameOf,
  isRunnableAgent,
  type LangChainAgent,
  type LangChainInput,
  type LangChainOutput,
} from './agent.js'
import { callAgent } from './call-agent.js'
import { withoutOwnRetries } from './chat-model.js'
import { RunnerCheckpointSaver } from './checkpoint-saver.js'
import { DurableGraphRun, interruptsOf } from './durable-graph.js'
import { toRunnableInput } from './input.js'
import { type FailedAttempt, isRetryableLangChainError, normalizeError } from './map-error.js'
import { finalTextOf } from './message-content.js'
import { recursionLimitFor, stepsPerTurnOf } from './recursion-limit.js'
import { createReportStatusTool, type ReportStatusTool } from './report-status-tool.js'
import { RunCallbackHandler } from './run-callback-handler.js'
import { langChainSessionMessages } from './session-messages.js'
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
 * rewrite need the tools wrapped: `createAgent({ model, tools: runner.wrapTools([search]) })`;
 * the model's own request retries are off with `runner.chatModel(model)`.
 *
 * ```ts
 * const runner = new LangChainRunner()
 * const agent = createAgent({
 *   model: runner.chatModel(new ChatOpenAI({ model: 'gpt-5.4-mini' })),
 *   tools: [...runner.wrapTools([search]), runner.tools.reportStatus],
 * })
 * const result = await runner.run(agent, 'Why do otters hold hands?')
 * ```
 */
export class LangChainRunner extends BaseAgentRunner<
  LangChainAgent,
  LangChainInput,
  LangChainOutput,
  ReportStatusTool
> {
  readonly #stepsPerTurn: number | undefined
  readonly #wrapUpModel: WrapUpModel | undefined
  #reportStatus: ReportStatusTool | undefined
  #checkpointer: RunnerCheckpointSaver | null | undefined
  /** The thread's latest checkpoint when each active run started (by agentId): what its retries continue from. */
  readonly #startedFrom = new Map<string, string | null>()

  constructor(settings: LangChainRunnerSettings = {}) {
    const { runnerOptions, stepsPerTurn, wrapUpModel } = splitSettings(settings)
    super(runnerOptions)
    this.#stepsPerTurn = stepsPerTurn
    this.#wrapUpModel = wrapUpModel
  }

  /** Durable runs: a LangGraph graph's run checkpoints in its thread, resumes, and waits on interrupts. */
  override get capabilities(): RunnerCapabilities {
    return { ...super.capabilities, durable: true }
  }

  /**
   * The LangGraph checkpointer the runner lends to the graphs it runs durably (those without a
   * checkpointer of their own): a `RunnerCheckpointSaver` on the runner's activity store, so that
   * a graph's threads live beside its runs. `undefined` when the store has no document table.
   * Read a run's graph state with it: `runner.checkpointer.getTuple({ configurable: { thread_id: agentId } })`.
   */
  get checkpointer(): RunnerCheckpointSaver | undefined {
    if (this.#checkpointer === undefined) {
      const store = this.activity.store
      this.#checkpointer = store.documents ? new RunnerCheckpointSaver(store) : null
    }
    return this.#checkpointer ?? undefined
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

  /**
   * The chat model with its own request retries off, so that the run's `retry` is the only one
   * and each retry is on the activity: `createAgent({ model: runner.chatModel(new ChatOpenAI(...)) })`,
   * or `runner.chatModel(model.bindTools(tools))` in a hand-built graph. LangChain chat models
   * retry a failed request by themselves (`maxRetries`, default 6, backing off up to a minute),
   * unseen by the runner, and LangGraph does not pass a run's call options to the model inside a
   * graph, so the runner cannot switch them off there itself. The model is not changed: this is
   * a binding with `maxRetries: 0` (the same as `model.withConfig({ maxRetries: 0 })`).
   */
  chatModel<RunInput, RunOutput, CallOptions extends RunnableConfig>(
    model: Runnable<RunInput, RunOutput, CallOptions>,
  ): Runnable<RunInput, RunOutput, CallOptions> {
    return withoutOwnRetries(model)
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

  /**
   * Sessions (`RunOptions.session`) carry LangChain messages (as `StoredMessage`s) for agents whose
   * input is messages: `createAgent` agents, graphs on a `messages` state, chat models, chains with
   * a `messages` placeholder.
   */
  protected override get sessions(): SessionCodec<LangChainInput, LangChainOutput> {
    return langChainSessionMessages
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

  /**
   * One attempt: the agent's own loop, with the runner listening and stopping it when it must. A
   * durable run of a graph goes on its thread: the run's input on a new thread, `null` to continue
   * where the run left it, a `Command` with the resume values after decisions; an interrupt
   * suspends the run.
   */
  protected override async execute(
    context: RunContext,
    agent: LangChainAgent,
    input: LangChainInput,
  ): Promise<ExecuteResult<LangChainOutput>> {
    const durable = await DurableGraphRun.open(context, agent, this.checkpointer, this.#startedFrom)
    const graphInput = durable
      ? await durable.input(() => toRunnableInput(agent, input), input !== undefined)
      : toRunnableInput(agent, input)
    const stepsPerTurn = stepsPerTurnOf(agent, this.#stepsPerTurn)
    const limits: FailedAttempt = {
      startedAt: performance.now(),
      maxTurns: context.maxTurns,
      turns: 0,
      stepsPerTurn,
      // A resumed run has the turns left after its checkpoint.
      recursionLimit: recursionLimitFor(agent, Math.max(1, context.maxTurns - context.turn), stepsPerTurn),
    }
    // The run record knows where the graph's state is before the graph writes any of it.
    if (durable) await durable.checkpoint()
    // maxTurnsRecovery: the model call that would start the wrap-up turn stops the agent instead.
    const stop = new AbortController()
    let wrapUpPrompt: BaseMessage[] | undefined
    const handler = new RunCallbackHandler(context, {
      signal: AbortSignal.any([context.signal, stop.signal]),
      onWrapUp: (prompt) => {
        wrapUpPrompt = prompt
        stop.abort()
      },
      // Turn and usage in the run record follow each model answer.
      ...(durable ? { onModelEnd: () => durable.checkpoint() } : {}),
    })
    const output = await this.#call(handler, agent, graphInput, limits, durable?.config())
    if (!wrapUpPrompt) {
      const interrupts = durable ? interruptsOf(output) : []
      if (durable && interrupts.length > 0) await durable.suspend(interrupts, output)
      return { output, text: finalTextOf(output, handler.lastAnswer) }
    }

    // Ask the model, without tools, to wrap up; this call counts as the wrap-up turn.
    const request = wrapUpMessages(wrapUpPrompt, context.prompts.wrapUp)
    const model = await wrapUpModelOf(agent, this.#wrapUpModel, this.name)
    const wrapUp = new RunCallbackHandler(context, { signal: context.signal })
    const answer = await this.#call(wrapUp, model, request, limits)
    return { output: wrapUpOutput(agent, request, answer), text: finalTextOf(answer, undefined) }
  }

  /** Forgets what the run's attempts shared. */
  protected override async postRun(context: RunContext | undefined): Promise<void> {
    if (context) this.#startedFrom.delete(context.agentId)
  }

  /**
   * One LangChain call, its callbacks going to `handler`: the agent's result, `undefined` when
   * the handler's signal stopped it for the wrap-up, or LangChain's error in the contract's terms.
   * `maxRetries: 0` switches off the retries of a chat model the config reaches (a chat model or
   * a chain run directly, the wrap-up call); inside a LangGraph graph see `chatModel`.
   */
  async #call(
    handler: RunCallbackHandler,
    runnable: LangChainAgent | WrapUpModel,
    input: unknown,
    limits: FailedAttempt,
    graphConfig?: { configurable: Record<string, unknown>; durability: 'sync' },
  ): Promise<unknown> {
    const { context, signal } = handler
    const config = {
      callbacks: [handler],
      signal,
      maxRetries: 0,
      recursionLimit: limits.recursionLimit,
      // So that a LangSmith trace points back to its activity.
      metadata: { runner_agent_id: context.agentId, runner_attempt: context.attempt },
      ...graphConfig,
    }
    try {
      return await callAgent(context, runnable, input, config)
    } catch (error) {
      // When the attempt was aborted or failed, that is the outcome, whatever LangChain threw.
      if (context.signal.aborted) throw abortReason(context.signal)
      if (signal.aborted) return undefined
      throw normalizeError(error, { ...limits, turns: context.turn })
    } finally {
      handler.close()
    }
  }
}
