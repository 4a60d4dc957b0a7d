import {
  BaseAgentRunner,
  type ExecuteResult,
  type ReportStatusInput,
  type ReportStatusMode,
  type RunContext,
  type RunnerCapabilities,
} from '@runner/core'
import { REPORT_STATUS_TOOL_NAME, type SessionCodec } from '@runner/core/adapter'
import {
  generateText,
  type ModelMessage,
  type StopCondition,
  streamText,
  type Tool,
  ToolLoopAgent,
  type ToolLoopAgentSettings,
  type ToolSet,
} from 'ai'
import {
  type AISDKAgent,
  type AISDKSettings,
  type AnyToolLoopAgent,
  agentIdOf,
  checkAgent,
  isToolLoopAgent,
  toolLoopSettingsOf,
} from './agent.js'
import { AttemptControls } from './attempt-controls.js'
import { DurableConversation } from './durable-conversation.js'
import { type AISDKInput, type AISDKPrompt, checkInput } from './input.js'
import { withPrompt } from './instructions.js'
import { isRetryableAISDKError } from './map-error.js'
import { type AISDKOutput, generateOutput, StreamEnd, streamOutput } from './output.js'
import { readStream } from './read-stream.js'
import { reportStatusTool } from './report-status-tool.js'
import { aiSDKSessionMessages } from './session-messages.js'
import { type AISDKRunnerSettings, splitSettings } from './settings.js'

/** The step limit a ToolLoopAgent without `stopWhen` has in the AI SDK. */
const toolLoopAgentDefaultSteps = 20

/** The AI SDK logs every stream error on the console unless told otherwise; the run reports them. */
const quiet = () => {}

// biome-ignore lint/suspicious/noExplicitAny: the options of any generateText / streamText / ToolLoopAgent call
type LooseOptions = Record<string, any>

/**
 * Runs Vercel AI SDK 7 agents under the runner contract of `@runner/core`: activity,
 * `report_status`, streaming, cancellation, timeouts, retries, turn limits, hooks, usage and
 * trajectory. The agent is a `ToolLoopAgent` (run with its `generate()` / `stream()`) or
 * settings for `generateText` / `streamText`; `run` generates, `runStreamed` streams. The AI
 * SDK runs the tool loop; the runner counts each step as a turn, maps `maxTurns` to `stopWhen`,
 * runs the tools through the tool hooks, sends each model request through the run's retry policy
 * (the SDK's own retries are off: `maxRetries: 0`) and maps the stream to the run's events.
 *
 * Runs are durable: each answer that calls tools is checkpointed (the conversation as the AI SDK's
 * `ModelMessage`s) and each completed tool call journaled, so `resume` continues a run that
 * stopped without running a completed tool again; a tool that needs approval (`needsApproval`,
 * `toolApproval`) suspends the run as `waiting` until `approve` / `deny` and `resume`.
 *
 * ```ts
 * const runner = new AISDKRunner()
 * const result = await runner.run({ model: openai('gpt-5.4-mini'), tools: { search } }, 'Otters?')
 * ```
 */
export class AISDKRunner extends BaseAgentRunner<
  AISDKAgent,
  AISDKInput,
  AISDKOutput,
  Tool<ReportStatusInput, string>
> {
  readonly #reportStatus: ReportStatusMode
  /** The AI SDK's own retries of each request: 0 unless the `maxRetries` setting says otherwise. */
  readonly #maxRetries: number

  constructor(settings: AISDKRunnerSettings = {}) {
    const { runnerOptions, reportStatus, maxRetries } = splitSettings(settings)
    super(runnerOptions)
    this.#reportStatus = reportStatus
    this.#maxRetries = maxRetries ?? 0
  }

  /**
   * `report_status` as an AI SDK `tool`, reporting to the run it is called in (`currentRun()`).
   * The runner adds it to agents given as settings; add it to a ToolLoopAgent's tools yourself
   * (`tools: { report_status: runner.tools.reportStatus, ... }`).
   */
  override get tools(): { reportStatus: Tool<ReportStatusInput, string> } {
    return { reportStatus: reportStatusTool }
  }

  /** Everything core offers, durable runs included (checkpoints, the journal, approvals, `resume`). */
  override get capabilities(): RunnerCapabilities {
    return { ...super.capabilities, durable: true }
  }

  /** The activity's agentType when a run names none: the agent's `id`, else the runner's name. */
  protected override agentTypeOf(agent: AISDKAgent): string {
    return agentIdOf(agent) ?? this.name
  }

  /**
   * Whether a failed model request or attempt is worth another (when `retry.attempts` > 1): the
   * AI SDK's `APICallError`s that say so (408, 409, 429, >= 500, connection failures and cuts), a
   * stream that ended early, its `RetryError` by its last error; never an abort, a bad request or
   * an answer that cannot be parsed. See `isRetryableAISDKError`.
   */
  protected override isRetryable(error: unknown): boolean {
    return isRetryableAISDKError(error) ?? super.isRetryable(error)
  }

  /**
   * Sessions (`RunOptions.session`) carry the AI SDK's `ModelMessage`s, whatever the provider: a
   * session can go on with another model.
   */
  protected override get sessions(): SessionCodec<AISDKInput, AISDKOutput> {
    return aiSDKSessionMessages
  }

  /** Refuses a bad agent or input before the run starts (no activity is created): `InvalidOptionsError` naming the field. */
  protected override validate(agent: AISDKAgent, input: AISDKInput): void {
    checkAgent(agent)
    checkInput(input, isToolLoopAgent(agent))
  }

  /**
   * One attempt: the AI SDK's tool loop, generated (`run`) or streamed (`runStreamed`), from the
   * input or, resumed, from the checkpoint's conversation (the input is `undefined` then).
   */
  protected override async execute(
    context: RunContext,
    agent: AISDKAgent,
    input: AISDKInput,
  ): Promise<ExecuteResult<AISDKOutput>> {
    const toolLoopAgent = isToolLoopAgent(agent)
    const ownInstructions = toolLoopAgent
      ? undefined
      : ((agent as LooseOptions).instructions ?? (agent as LooseOptions).system)
    const { conversation, prompt } = await DurableConversation.open(context, input)
    const controls = new AttemptControls(context, {
      // A wrap-up turn offers no tools: it goes back to the agent's own instructions, without
      // the prompts.reportStatus the runner added (an agent without instructions keeps it).
      wrapUpInstructions: this.#reportStatus === true ? ownInstructions : undefined,
      checkOverrides: toolLoopAgent,
      conversation,
    })
    try {
      const generated = toolLoopAgent
        ? await this.#runToolLoopAgent(context, agent, prompt, controls)
        : await this.#runSettings(context, agent, prompt, controls)
      const output = {
        ...generated.output,
        responseMessages: conversation.responseMessages(generated.output.responseMessages),
      }
      // Tool calls that wait for a person: the run suspends (resolves `waiting`).
      await conversation.suspendIfWaiting(output.steps.at(-1), output.responseMessages)
      controls.settle(output.finishReason)
      return { output, text: generated.text }
    } catch (error) {
      throw controls.errorFor(error)
    }
  }

  /** Settings: `generateText` / `streamText` with the runner's controls and `report_status`. */
  async #runSettings(
    context: RunContext,
    agent: AISDKSettings<ToolSet>,
    prompt: AISDKPrompt,
    controls: AttemptControls,
  ): Promise<Generated> {
    const {
      instructions,
      system,
      tools,
      stopWhen,
      prepareStep,
      onStepStart,
      experimental_onStepStart,
      onStepEnd,
      onStepFinish,
      onLanguageModelCallEnd,
      experimental_onLanguageModelCallEnd,
      onError,
      onAbort,
      onEnd,
      onFinish,
      prompt: _prompt,
      messages: _messages,
      abortSignal: _abortSignal,
      ...rest
    } = agent as LooseOptions
    const ownInstructions = instructions ?? system
    const callInstructions =
      this.#reportStatus === true
        ? withPrompt(ownInstructions, context.prompts.reportStatus)
        : ownInstructions
    const { options: _options, ...promptOnly } = prompt
    const options: LooseOptions = {
      ...rest,
      maxRetries: this.#maxRetries,
      ...(callInstructions === undefined ? {} : { instructions: callInstructions }),
      tools: controls.wrapTools(this.#withReportStatus(tools)),
      stopWhen: controls.stopWhen(stopWhen),
      prepareStep: controls.prepareStep(prepareStep),
      onStepStart: controls.onStepStart(onStepStart ?? experimental_onStepStart),
      onStepEnd: controls.onStepEnd(onStepEnd ?? onStepFinish),
      onLanguageModelCallEnd: controls.onLanguageModelCallEnd(
        onLanguageModelCallEnd ?? experimental_onLanguageModelCallEnd,
      ),
      ...promptOnly,
      abortSignal: context.signal,
    }
    if (context.streaming) {
      const end = new StreamEnd(onEnd ?? onFinish)
      const streamOptions: LooseOptions = {
        ...options,
        onError: onError ?? quiet,
        ...(onAbort === undefined ? {} : { onAbort }),
        onEnd: end.onEnd,
      }
      const result = streamText(streamOptions as Parameters<typeof streamText<ToolSet>>[0])
      await readStream(result.stream, context, controls)
      return streamOutput(result, end)
    }
    return generated(
      await generateText({
        ...options,
        ...(onEnd === undefined ? {} : { onEnd }),
        ...(onFinish === undefined ? {} : { onFinish }),
      } as Parameters<typeof generateText<ToolSet>>[0]),
    )
  }

  /**
   * A ToolLoopAgent: the same agent (its settings, `prepareCall`, call options and callbacks)
   * with the runner's controls over its tools, `stopWhen`, `prepareStep` and
   * `onLanguageModelCallEnd`, which `generate()` / `stream()` do not take per call.
   */
  async #runToolLoopAgent(
    context: RunContext,
    agent: AnyToolLoopAgent,
    prompt: AISDKPrompt,
    controls: AttemptControls,
  ): Promise<Generated> {
    const settings = toolLoopSettingsOf(agent) as LooseOptions
    const { experimental_onLanguageModelCallEnd, ...own } = settings
    const controlled = new ToolLoopAgent({
      ...own,
      ...(context.resumed && 'messages' in prompt
        ? { prepareCall: keepMessages(own.prepareCall, prompt.messages) }
        : {}),
      maxRetries: this.#maxRetries,
      tools: controls.wrapTools(settings.tools),
      stopWhen: controls.stopWhen(settings.stopWhen ?? runTurnCount(context, toolLoopAgentDefaultSteps)),
      prepareStep: controls.prepareStep(settings.prepareStep),
      onLanguageModelCallEnd: controls.onLanguageModelCallEnd(
        settings.onLanguageModelCallEnd ?? experimental_onLanguageModelCallEnd,
      ),
      onError: settings.onError ?? quiet,
    } as ToolLoopAgentSettings<unknown, ToolSet>)
    const call = {
      ...prompt,
      abortSignal: context.signal,
      // Merged by the agent with its own onStepStart / onStepEnd.
      onStepStart: controls.onStepStart(undefined),
      onStepEnd: controls.onStepEnd(undefined),
    } as Parameters<typeof controlled.generate>[0]
    if (context.streaming) {
      // Merged by the agent with its own onEnd.
      const end = new StreamEnd()
      const result = await controlled.stream({ ...call, onEnd: end.onEnd } as typeof call)
      await readStream(result.stream, context, controls)
      return streamOutput(result, end)
    }
    return generated(await controlled.generate(call))
  }

  /** The agent's tools with `report_status` added, unless the runner's `reportStatus` is off or the agent has its own. */
  #withReportStatus(tools: ToolSet | undefined): ToolSet | undefined {
    if (this.#reportStatus === false) return tools
    if (tools && REPORT_STATUS_TOOL_NAME in tools) return tools
    return { [REPORT_STATUS_TOOL_NAME]: reportStatusTool, ...tools }
  }
}

/** What an attempt generated: the output and the final text. */
interface Generated {
  output: AISDKOutput
  text: string
}

function generated(result: Parameters<typeof generateOutput>[0]): Generated {
  return { output: generateOutput(result), text: result.text }
}

/**
 * The ToolLoopAgent's own step limit (`isStepCount(20)`) counted in the run's turns, so that a
 * resumed run counts the turns it made before.
 */
function runTurnCount(context: RunContext, count: number): StopCondition<ToolSet> {
  return () => context.turn >= count
}

/**
 * A resumed ToolLoopAgent's `prepareCall`: the agent's own (its instructions, model, settings and
 * call options apply), with the checkpoint's messages kept as they are, since they hold what the
 * first `prepareCall` made of the prompt already.
 */
function keepMessages(
  prepareCall: ((args: LooseOptions) => LooseOptions | PromiseLike<LooseOptions>) | undefined,
  messages: ModelMessage[],
): (args: LooseOptions) => Promise<LooseOptions> {
  return async (args) => {
    const { prompt: _prompt, messages: _messages, ...prepared } = (await prepareCall?.(args)) ?? args
    return { ...prepared, messages }
  }
}
