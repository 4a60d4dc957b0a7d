import type { JsonValue, PendingRequestInput, Usage } from '../activity/types.js'
import { RunNotResumableError } from '../errors/run-not-resumable-error.js'
import type { ToolCallInfo } from '../runner/hooks.js'
import type { ExecuteResult, RunContext } from '../runner/types.js'
import { jsonDepthOver } from '../util/json-limits.js'
import type { AnyToolDefinition } from './define-tool.js'
import {
  beginToolCall,
  deniedToolText,
  jsonValueOf,
  runToolCall,
  type ToolCallOutcome,
  tooDeepInputText,
  toolInputTooDeep,
} from './tool-call.js'

/** One model call's answer, in the loop's terms, whatever the API. */
export interface ModelAnswer<TNative> {
  /** The API's own response (a `ChatCompletion`, a `Message`...): given to `onModelCallEnd`. */
  native: TNative
  /** The assistant's text ('' when it only called tools). */
  text: string
  /** The tool calls it made, inputs parsed. */
  toolCalls: ToolCallInfo[]
  /** Token counts, when the server sent them. */
  usage?: Usage
  /** The model that answered, when the response names it (else the one `modelOf` gave). */
  model?: string
  /** Why the model stopped, in the API's words (`stop`, `tool_calls`, `end_turn`...). */
  finishReasons?: string[]
}

/** What follows a model call: run its tool calls, return its answer, or call again as it is. */
export type NextStep = 'tools' | 'answer' | 'continue'

/** One turn as the loop asks a driver for its request. */
export interface LoopTurn {
  /** The turn number (1-based). */
  turn: number
  /** A wrap-up turn of `maxTurnsRecovery`: offer no tools. */
  wrapUp: boolean
  /** The tools to offer this turn (none on wrap-up turns). */
  tools: ReadonlyArray<AnyToolDefinition>
}

/**
 * One API's side of the tool loop: it keeps the conversation in the API's shape and makes the
 * calls. Everything else (turns, the turn limit and wrap-up, model hooks, usage, the tool-call
 * protocol, in-place retries of a failed request) is the loop's.
 */
export interface ToolLoopDriver<TNative, TRequest, TOutput> {
  /** Appends a user message (the wrap-up prompt, once, on the first wrap-up turn). */
  addUserMessage(text: string): void
  /** The request of the next call. */
  request(turn: LoopTurn): TRequest
  /**
   * The model a request asks for and its provider (the OpenTelemetry GenAI provider name:
   * `openai`, `anthropic`, `azure.ai.openai`...), for the model hooks, the trajectory and the
   * call's cost.
   */
  modelOf?(request: TRequest): { model?: string; provider?: string }
  /**
   * Sends it: with the attempt's `context.signal`, streaming (deltas through `context.emit`) when
   * `context.streaming`, with the SDK's own retries off (the loop repeats a failed request).
   */
  send(request: TRequest, context: RunContext): Promise<ModelAnswer<TNative>>
  /**
   * What follows an answer. Default: its tool calls when it made some (never on a wrap-up turn),
   * else the answer. Throw to fail the attempt (a stop reason that means the answer is unusable).
   */
  next?(answer: ModelAnswer<TNative>, turn: LoopTurn): NextStep
  /** Appends the assistant's answer; `withToolCalls` false leaves out calls that will not run. */
  addAnswer(answer: ModelAnswer<TNative>, withToolCalls: boolean): void
  /** Appends the results of the turn's tool calls (in the calls' order). */
  addToolResults(outcomes: ReadonlyArray<ToolCallOutcome>): void
  /** The run's output and text, once `answer` is the final one. */
  result(answer: ModelAnswer<TNative>): ExecuteResult<TOutput>
  /**
   * The conversation so far as JSON, for the checkpoint of a durable run. A driver without it
   * makes runs that cannot resume (no checkpoint is written) nor wait for approvals.
   */
  snapshot?(): JsonValue
  /** Restores the conversation from what `snapshot` returned (a resumed run, in a new process maybe). */
  restore?(state: JsonValue): void
}

/** What the tool loop checkpoints: the driver's conversation and the calls of its last answer still to run. */
interface LoopCheckpoint {
  conversation: JsonValue
  toolCalls: ToolCallInfo[]
  wrapUpAsked: boolean
}

/**
 * The tool loop, for runners whose SDK does not run one (`OpenAIRunner`, `ClaudeRunner`, your own
 * over a plain client). Per turn: `startTurn` (the turn limit; on wrap-up turns the `wrapUp` prompt
 * as a user message and no tools), `onModelCallStart`, the request through `context.modelRequest`
 * (repeated in place on a retryable failure), usage, `onModelCallEnd`, then what `next` says: every
 * tool call of the turn in parallel through the tool-call protocol (`runToolCalls`), results back
 * into the conversation; or the answer; or another call. `endTurn` closes each turn.
 *
 * Durable runs (a driver with `snapshot`/`restore`): after each answer that calls tools the loop
 * checkpoints the conversation and the calls, saved with the first call to complete; each call is
 * journaled as it completes. A resumed
 * run restores the conversation and runs that answer's calls again, journaled ones replayed, so
 * that no completed tool runs twice; the model call that was in flight is made again. A tool with
 * `needsApproval` suspends the run until a person decides (the other calls of the turn run first).
 */
export async function runToolLoop<TNative, TRequest, TOutput>(
  context: RunContext,
  driver: ToolLoopDriver<TNative, TRequest, TOutput>,
  tools: ReadonlyArray<AnyToolDefinition>,
): Promise<ExecuteResult<TOutput>> {
  let wrapUpAsked = false
  const durable = context.durable === true && typeof driver.snapshot === 'function'
  let carried: ToolCallInfo[] | undefined
  const resumed = context.resumed
  if (resumed && driver.restore) {
    const state = resumed.state as unknown as LoopCheckpoint
    // A call still to run needs its tool: an agent whose tools changed since cannot continue it.
    const missing = state.toolCalls.filter(
      (call) => !context.journaled?.(call.toolCallId) && !tools.some((tool) => tool.name === call.toolName),
    )
    if (missing.length > 0) {
      throw new RunNotResumableError(
        context.agentId,
        'mismatch',
        `its checkpoint calls ${missing.map((call) => `"${call.toolName}" (call ${call.toolCallId})`).join(', ')}, which this agent does not have (its tools: ${tools.map((tool) => tool.name).join(', ') || 'none'}). Resume it with the agent's tools as they were.`,
      )
    }
    driver.restore(state.conversation)
    wrapUpAsked = state.wrapUpAsked
    carried = state.toolCalls
  }
  const snapshot = (toolCalls: ToolCallInfo[]): JsonValue =>
    ({
      conversation: driver.snapshot?.() ?? null,
      // A call whose input is nested past the limit is refused; its input is not kept.
      toolCalls: toolCalls.map((call) =>
        jsonDepthOver(call.input) === undefined ? call : { ...call, input: tooDeepInputText(call.toolName) },
      ),
      wrapUpAsked,
    }) as unknown as JsonValue
  for (;;) {
    if (carried) {
      // The calls of the checkpointed answer: journaled ones replay, decided ones run or are denied.
      const calls = carried
      carried = undefined
      if (calls.length > 0)
        driver.addToolResults(await runTurnTools(context, tools, calls, () => snapshot(calls), durable, true))
      continue
    }
    const { turn, wrapUp } = await context.startTurn()
    if (wrapUp && !wrapUpAsked) {
      driver.addUserMessage(context.prompts.wrapUp)
      wrapUpAsked = true
    }
    const loopTurn: LoopTurn = { turn, wrapUp, tools: wrapUp ? [] : tools }
    const request = driver.request(loopTurn)
    const called = driver.modelOf?.(request)
    await context.hooks.modelCallStart(called ? { request, ...called } : { request })
    const answer = await context.modelRequest(() => driver.send(request, context))
    if (answer.usage) context.addUsage(answer.usage)
    // Wrap-up turns offer no tools: a call made anyway is not run.
    const toolCalls = wrapUp ? [] : answer.toolCalls
    const ended: Parameters<RunContext['hooks']['modelCallEnd']>[0] = {
      response: answer.native,
      text: answer.text,
      toolCalls,
    }
    if (answer.usage) ended.usage = answer.usage
    if (answer.model !== undefined) ended.model = answer.model
    if (answer.finishReasons !== undefined) ended.finishReasons = answer.finishReasons
    await context.hooks.modelCallEnd(ended)
    const next = driver.next?.(answer, loopTurn) ?? (toolCalls.length > 0 ? 'tools' : 'answer')
    const runsTools = next === 'tools' && toolCalls.length > 0
    driver.addAnswer(answer, runsTools)
    if (next === 'answer' || (next === 'tools' && !runsTools)) {
      // Never a half answer as a success: an abort during the call wins.
      context.signal.throwIfAborted()
      return driver.result(answer)
    }
    if (runsTools) {
      // Saved with the first of its tool calls to complete: one store write, not two.
      if (durable) await context.checkpoint(snapshot(toolCalls), { withNextToolResult: true })
      driver.addToolResults(
        await runTurnTools(context, tools, toolCalls, () => snapshot(toolCalls), durable, false),
      )
    }
    context.endTurn()
  }
}

/** Whether a call of `tool` with `input` waits for a person's decision. */
async function needsApproval(tool: AnyToolDefinition | undefined, input: unknown): Promise<boolean> {
  const rule = tool?.needsApproval
  if (rule === undefined || rule === false) return false
  if (rule === true) return true
  return Boolean(await rule(input))
}

/**
 * Runs the tool calls of one answer, in parallel, outcomes in the calls' order. A call journaled
 * before replays its outcome; a call that needs approval runs only once approved (with the edited
 * input when one was given) and reads a denial as a tool error; calls still undecided suspend the
 * run once the others have completed (and been journaled).
 */
async function runTurnTools(
  context: RunContext,
  tools: ReadonlyArray<AnyToolDefinition>,
  calls: ReadonlyArray<ToolCallInfo>,
  snapshot: () => JsonValue,
  durable: boolean,
  /** True for the calls of the answer a run resumes from: journaled ones replay. */
  resumed: boolean,
): Promise<ToolCallOutcome[]> {
  const pending: PendingRequestInput[] = []
  const options = { replay: resumed }
  const outcomes = await Promise.all(
    calls.map(async (call): Promise<ToolCallOutcome | undefined> => {
      const tool = tools.find((candidate) => candidate.name === call.toolName)
      // An input nested past the limit is refused at once: there is nothing to approve.
      if (
        (resumed && context.journaled?.(call.toolCallId)) ||
        toolInputTooDeep(call) ||
        !(await needsApproval(tool, call.input))
      )
        return runToolCall(context, tools, call, options)
      const decision = context.decision?.(call.toolCallId)
      if (!decision) {
        pending.push({
          id: call.toolCallId,
          kind: 'approval',
          toolName: call.toolName,
          input: jsonValueOf(call.input),
        })
        return undefined
      }
      if (decision.type === 'approve')
        return runToolCall(
          context,
          tools,
          decision.input === undefined ? call : { ...call, input: decision.input },
        )
      // Denied: the model reads why; journaled like a completed call, so it is never asked again.
      const begun = await beginToolCall(
        context,
        call,
        () => ({
          success: false,
          message: deniedToolText(
            decision.type === 'deny' && decision.reason ? decision.reason : 'a person denied it',
          ),
        }),
        options,
      )
      const outcome = begun.outcome as ToolCallOutcome
      if (durable && !begun.replayed)
        await context.journal({
          toolCallId: call.toolCallId,
          toolName: call.toolName,
          input: jsonValueOf(call.input),
          output: jsonValueOf(outcome.output),
          isError: true,
        })
      return outcome
    }),
  )
  if (pending.length > 0) {
    // Keep the calls' order in the request list.
    const order = new Map(calls.map((call, index) => [call.toolCallId, index]))
    pending.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0))
    await context.suspend(pending, snapshot())
  }
  return outcomes as ToolCallOutcome[]
}
