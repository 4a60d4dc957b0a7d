import { BaseAgentRunner, type ExecuteResult, type RunContext, type Usage } from '@runner/core'
import { reportStatusTool, runToolCalls, toolOutputText } from '@runner/core/adapter'
import { fromTinyTool, toTinyTool } from './convert-tools.ts'
import {
  type TinyAgent,
  type TinyMessage,
  type TinyModel,
  TinyModelError,
  type TinyRequest,
  type TinyResponse,
  type TinyTool,
  type TinyToolSpec,
} from './tiny-framework.ts'

/** report_status in the framework's own tool shape (built once from core's neutral definition). */
const reportStatus = toTinyTool(reportStatusTool)

/**
 * Runs a `TinyAgent` under the runner contract: activity, report_status, streaming, cancellation,
 * timeouts, retries, turn limits, hooks, usage and trajectory. The base class owns all of that;
 * this class only translates between the tiny framework and the `RunContext`.
 *
 * Input: the user's prompt. Output: the model's last `TinyResponse`.
 */
export class TinyRunner extends BaseAgentRunner<TinyAgent, string, TinyResponse> {
  /** `report_status` as a `TinyTool`. The runner adds it to every agent; you need not. */
  override get tools(): { reportStatus: TinyTool } {
    return { reportStatus }
  }

  /** The activity's agentType: the agent's name (`researcher`), unless a run names one. */
  protected override agentTypeOf(agent: TinyAgent): string {
    return agent.name
  }

  /**
   * Which failures a retry may fix (used when `retry.attempts` > 1). HTTP 408, 409, 429 and 5xx,
   * and a stream cut in the middle; not a bad request nor an answer that cannot be read.
   */
  protected override isRetryable(error: unknown): boolean {
    if (error instanceof TinyModelError) {
      if (error.status !== undefined) {
        return error.status === 408 || error.status === 409 || error.status === 429 || error.status >= 500
      }
      return error.code === 'stream_interrupted'
    }
    return super.isRetryable(error) // network errors (ECONNRESET...) and the like
  }

  /**
   * One attempt: the tool loop. Called again for each retry, with a fresh context. Nothing of the
   * lifecycle lives here: no activity updates, no try/finally, no timers.
   */
  protected override async execute(
    context: RunContext,
    agent: TinyAgent,
    prompt: string,
  ): Promise<ExecuteResult<TinyResponse>> {
    // The runner owns the tool list, so it adds report_status (unless the agent already has it).
    const agentTools = agent.tools.some((tool) => tool.name === reportStatus.name)
      ? agent.tools
      : [this.tools.reportStatus, ...agent.tools]
    // runToolCalls runs neutral tools: convert the framework's tools once per attempt.
    const tools = agentTools.map(fromTinyTool)
    const specs: TinyToolSpec[] = agentTools.map(({ name, description, parameters }) => ({
      name,
      description,
      parameters,
    }))
    const messages: TinyMessage[] = [{ role: 'user', content: prompt }]

    for (;;) {
      // Counts the turn and enforces maxTurns: it throws MaxTurnsExceededError at the limit, or,
      // with maxTurnsRecovery, returns wrapUp: ask for a final answer and offer no tools.
      const { wrapUp } = await context.startTurn()
      const request: TinyRequest = {
        system: [agent.instructions, wrapUp ? context.prompts.wrapUp : context.prompts.reportStatus]
          .filter(Boolean)
          .join('\n\n'),
        messages: [...messages],
        tools: wrapUp ? [] : specs,
      }

      // The model hooks fire around the call; modelCallEnd also records the trajectory step.
      await context.hooks.modelCallStart({ request })
      // The signal aborts on cancel, timeout or a reader that stopped: the model call must see it.
      const response = await callModel(agent.model, { ...request, signal: context.signal }, context)
      // Usage in the contract's names; the base class sums it per turn, per attempt and per run.
      const usage = usageOf(response)
      context.addUsage(usage)
      // Wrap-up turns offer no tools: a model that calls one anyway is not obeyed.
      const toolCalls = wrapUp
        ? []
        : response.toolCalls.map((call) => ({
            toolCallId: call.id,
            toolName: call.name,
            input: parseArguments(call.arguments),
          }))
      await context.hooks.modelCallEnd({ response, text: response.content, toolCalls, usage })

      // No tool call: this is the answer. The base class completes the activity.
      if (toolCalls.length === 0) return { output: response, text: response.content }

      // runToolCalls does the rest of the contract: tool-call/tool-result events, the tool hooks
      // (deny, rewrite), validation, errors as results for the model, the signal, trajectory steps.
      messages.push({ role: 'assistant', content: response.content, toolCalls: response.toolCalls })
      for (const outcome of await runToolCalls(context, tools, toolCalls)) {
        messages.push({ role: 'tool', callId: outcome.toolCallId, content: toolOutputText(outcome.output) })
      }
      // Emits turn-end with this turn's usage (the next startTurn would close it too).
      context.endTurn()
    }
  }
}

/** One model call: streamed when somebody reads the deltas, a plain call otherwise. */
async function callModel(model: TinyModel, request: TinyRequest, context: RunContext): Promise<TinyResponse> {
  if (!context.streaming) return model.complete(request)
  if (!model.stream) {
    // A model that cannot stream still gives the reader its text, in one piece.
    const response = await model.complete(request)
    if (response.content) context.emit({ type: 'text-delta', text: response.content })
    return response
  }
  let response: TinyResponse | undefined
  for await (const chunk of model.stream(request)) {
    // The run settles at once on abort; stop reading too, so no delta follows the end.
    context.signal.throwIfAborted()
    if (context.includeNative) context.emit({ type: 'native', event: chunk })
    if (chunk.type === 'text') context.emit({ type: 'text-delta', text: chunk.text })
    else response = chunk.response
  }
  if (!response) {
    throw new TinyModelError('The model stream ended before its response.', { code: 'stream_interrupted' })
  }
  return response
}

/** The framework's token names in the contract's. */
function usageOf(response: TinyResponse): Usage {
  const { promptTokens, completionTokens } = response.usage
  return {
    inputTokens: promptTokens,
    outputTokens: completionTokens,
    totalTokens: promptTokens + completionTokens,
  }
}

/**
 * The model's JSON arguments as a value. Invalid JSON is passed on as the raw string: validation
 * then fails and the model reads why (`expected object, received string`), instead of a crash.
 */
function parseArguments(text: string): unknown {
  if (text.trim() === '') return {} // some models send "" for a call without arguments
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
