import { z } from 'zod'
import { errorMessage } from '../activity/tracker.js'
import type { JournalEntry, JsonValue } from '../activity/types.js'
import { InvalidToolInputError } from '../errors/invalid-tool-input-error.js'
import { ValueTooLargeError } from '../errors/value-too-large-error.js'
import type { ToolCallInfo } from '../runner/hooks.js'
import type { RunContext } from '../runner/types.js'
import { abortReason, raceAbort } from '../util/abort.js'
import { jsonDepthOver, MAX_JSON_DEPTH } from '../util/json-limits.js'
import type { AnyToolDefinition } from './define-tool.js'
import type { StandardSchemaV1 } from './standard-schema.js'

/** The outcome of one tool call, ready to feed back to the model. */
export interface ToolCallOutcome extends ToolCallInfo {
  /** What the tool returned, or an error message the model can read. */
  output: unknown
  isError: boolean
}

/** What a tool's input check says: the input to run with, or what is wrong with it (for the model). */
export type ToolInputCheck = { success: true; value: unknown } | { success: false; message: string }

/** How a framework's tool is checked and run under the protocol. */
export interface ToolCallTarget {
  /** Checks the input (after `onToolCallStart` may have rewritten it). Default: every input is fine. */
  validate?(input: unknown): ToolInputCheck | Promise<ToolInputCheck>
  /** Runs the tool. What it throws becomes an error result the model reads (unless the run was aborted). */
  execute(input: unknown, signal: AbortSignal): unknown
}

/** Options of `beginToolCall` and `callTool`. */
export interface ToolCallOptions {
  /**
   * Emit the `tool-call` and `tool-result` events. Default true; false for a framework whose own
   * stream already carries them (the adapter maps those).
   */
  emit?: boolean
  /**
   * Answer a call found in the run's journal from it (`replayed`) instead of running the tool.
   * Default true. Core's tool loop passes false for the calls of a fresh answer (only the calls of
   * the answer a run resumes from are replayed), so that a server whose tool call ids repeat
   * (numbered per connection) never gets an old result for a new call.
   */
  replay?: boolean
}

/** A tool call begun under the protocol, not yet ended. */
export interface BegunToolCall {
  /** The call as the model made it. */
  readonly call: ToolCallInfo
  /** The input the tool runs with: the model's, or the one `onToolCallStart` gave, validated. */
  readonly input: unknown
  /**
   * The error text the model reads when the tool must not run: a denial by `onToolCallStart`, or
   * input the tool refuses. The call is then already ended (`outcome` holds it).
   */
  readonly refused: string | undefined
  /**
   * The outcome of a call that is ended already: a refused one, or a replayed one (`replayed`).
   * Do not run the tool; give the model this outcome.
   */
  readonly outcome: ToolCallOutcome | undefined
  /**
   * True when the call completed in an earlier process (a resumed run): `outcome` is its
   * journaled result, and the tool must not run again. No hook fires for it.
   */
  readonly replayed: boolean
  /** Ends the call with what the tool gave: `onToolCallEnd`, the trajectory step, the `tool-result` event. */
  end(output: unknown, isError: boolean): Promise<ToolCallOutcome>
  /**
   * Ends the call of a tool that threw, with the text the model reads (`Tool "x" failed: ...`).
   * When the attempt was aborted (cancel, timeout, a failed hook), the abort reason is thrown
   * instead: cancellation is never swallowed.
   */
  fail(error: unknown): Promise<ToolCallOutcome>
}

/** The text a model reads when `onToolCallStart` denied its call. */
export function deniedToolText(reason: string): string {
  return `Tool call denied: ${reason}`
}

/** The text a model reads when a tool threw. */
export function failedToolText(toolName: string, error: unknown): string {
  return `Tool "${toolName}" failed: ${errorMessage(error)}`
}

/** The text a model reads when it called a tool that is not offered. */
export function unknownToolText(toolName: string, available: ReadonlyArray<string>): string {
  return `Unknown tool "${toolName}". Available tools: ${available.join(', ') || 'none'}.`
}

/** What stands for a tool input nested more than `MAX_JSON_DEPTH` levels (it is never kept). */
export function tooDeepInputText(toolName: string): string {
  return `[input of tool "${toolName}" nested more than ${MAX_JSON_DEPTH.toLocaleString('en-US')} levels deep, not kept]`
}

/**
 * Whether a call's input is nested past `MAX_JSON_DEPTH`, or is the text that stood for such an
 * input (a checkpoint keeps the text: the call of a resumed run is refused again, never run).
 */
export function toolInputTooDeep(call: ToolCallInfo): boolean {
  return call.input === tooDeepInputText(call.toolName) || jsonDepthOver(call.input) !== undefined
}

/** The text a model reads for input a tool refuses (`InvalidToolInputError`'s message). */
export function invalidToolInputText(toolName: string, input: unknown, details: string): string {
  return new InvalidToolInputError(toolName, input, details).message
}

/**
 * The first half of the tool-call protocol, for frameworks that run tools themselves: emits
 * `tool-call`, fires `onToolCallStart` (a denial answers the model without running the tool; a
 * rewritten input replaces the model's), checks the input with `validate`. Run the tool with
 * `input` unless `refused` is set, then `end` or `fail` the call. A hook that throws fails the
 * attempt (`HookError`) and is rethrown.
 */
export async function beginToolCall(
  context: RunContext,
  modelCall: ToolCallInfo,
  validate?: ToolCallTarget['validate'],
  options: ToolCallOptions = {},
): Promise<BegunToolCall> {
  // An input nested past the limit is refused, and never handed on: events, hooks, the trajectory
  // and the journal see a short text in its place.
  const inputTooDeep = toolInputTooDeep(modelCall)
  const call = inputTooDeep ? { ...modelCall, input: tooDeepInputText(modelCall.toolName) } : modelCall
  const emit = options.emit ?? true
  if (emit)
    context.emit({
      type: 'tool-call',
      toolCallId: call.toolCallId,
      toolName: call.toolName,
      input: call.input,
    })
  const recorded = options.replay === false ? undefined : context.journaled?.(call.toolCallId)
  if (recorded) return replay(context, call, recorded, emit)
  const started = performance.now()
  const decision = await context.hooks.toolCallStart(call)
  let usedInput = decision.denied === undefined ? decision.input : call.input
  let ran = false
  const end = async (output: unknown, isError: boolean): Promise<ToolCallOutcome> => {
    // Never journaled, sent or shown: the attempt fails with an error naming the tool.
    const depth = jsonDepthOver(output)
    if (depth !== undefined) {
      throw new ValueTooLargeError('output', 'levels', depth, MAX_JSON_DEPTH, {
        subject: `output of tool "${call.toolName}"`,
        advice: 'flatten it (tool outputs are journaled and sent to the model as JSON)',
      })
    }
    // A call that ran is journaled as it completes: a resumed run never runs it again.
    if (ran && context.durable)
      await context.journal({
        toolCallId: call.toolCallId,
        toolName: call.toolName,
        input: jsonValueOf(usedInput),
        output: jsonValueOf(output),
        isError,
      })
    await context.hooks.toolCallEnd({
      toolCallId: call.toolCallId,
      toolName: call.toolName,
      input: usedInput,
      output,
      isError,
      durationMs: Math.round(performance.now() - started),
    })
    if (emit)
      context.emit({
        type: 'tool-result',
        toolCallId: call.toolCallId,
        toolName: call.toolName,
        output,
        isError,
      })
    return { toolCallId: call.toolCallId, toolName: call.toolName, input: usedInput, output, isError }
  }
  const fail = (error: unknown): Promise<ToolCallOutcome> => {
    if (context.signal.aborted) throw abortReason(context.signal)
    return end(failedToolText(call.toolName, error), true)
  }
  let refused: string | undefined
  if (decision.denied !== undefined) {
    refused = deniedToolText(decision.denied)
  } else if ((inputTooDeep && usedInput === call.input) || jsonDepthOver(usedInput) !== undefined) {
    usedInput = call.input === usedInput ? usedInput : tooDeepInputText(call.toolName)
    refused = invalidToolInputText(
      call.toolName,
      usedInput,
      `(input) is nested more than ${MAX_JSON_DEPTH.toLocaleString('en-US')} levels deep (the limit); flatten it`,
    )
  } else if (validate) {
    const checked = await validate(usedInput)
    if (checked.success) usedInput = checked.value
    else refused = checked.message
  }
  const outcome = refused === undefined ? undefined : await end(refused, true)
  // From here the caller runs the tool: its end is journaled.
  ran = refused === undefined
  return { call, input: usedInput, refused, outcome, replayed: false, end, fail }
}

/** A call found in the journal: its recorded outcome, events and a `replayed` trajectory step, no hook. */
function replay(
  context: RunContext,
  call: ToolCallInfo,
  recorded: JournalEntry,
  emit: boolean,
): BegunToolCall {
  const outcome: ToolCallOutcome = {
    toolCallId: call.toolCallId,
    toolName: call.toolName,
    input: recorded.input,
    output: recorded.output,
    isError: recorded.isError,
  }
  context.recordStep({
    kind: 'tool-call',
    durationMs: 0,
    data: { ...outcome, replayed: true },
  })
  if (emit)
    context.emit({
      type: 'tool-result',
      toolCallId: call.toolCallId,
      toolName: call.toolName,
      output: recorded.output,
      isError: recorded.isError,
    })
  const ended = async () => outcome
  return { call, input: recorded.input, refused: undefined, outcome, replayed: true, end: ended, fail: ended }
}

/** A value as JSON for the journal and pending requests (`null` for `undefined`, its string for what JSON cannot hold). */
export function jsonValueOf(value: unknown): JsonValue {
  if (value === undefined) return null
  try {
    const text = JSON.stringify(value)
    return text === undefined ? null : (JSON.parse(text) as JsonValue)
  } catch {
    return String(value)
  }
}

/**
 * One tool call under the contract, whatever framework's tool it is: `beginToolCall`, then the tool
 * with the attempt's signal (the call settles at once when the attempt aborts, even if the tool
 * ignores the signal), then the end: its output, or the error text of a tool that threw. The model
 * always gets a result it can read; only cancellation and a throwing hook fail the attempt.
 */
export async function callTool(
  context: RunContext,
  call: ToolCallInfo,
  target: ToolCallTarget,
  options: ToolCallOptions = {},
): Promise<ToolCallOutcome> {
  const begun = await beginToolCall(context, call, target.validate?.bind(target), options)
  if (begun.outcome) return begun.outcome
  let output: unknown
  try {
    output = await raceAbort(
      Promise.resolve().then(() => target.execute(begun.input, context.signal)),
      context.signal,
    )
  } catch (error) {
    return begun.fail(error)
  }
  return begun.end(output, false)
}

/** An issue's path as text (`items.0.name`), `(input)` for the input itself. */
function issuePath(path: ReadonlyArray<PropertyKey | StandardSchemaV1.PathSegment> | undefined): string {
  const text = (path ?? [])
    .map((segment) => String(typeof segment === 'object' && segment !== null ? segment.key : segment))
    .join('.')
  return text || '(input)'
}

/** `path message`, the path left out when the message starts with it already (arktype's do). */
function issueText(path: string, message: string): string {
  return message.startsWith(`${path} `) ? message : `${path} ${message}`
}

type InputResult = { success: true; value: unknown } | { success: false; details: string }

/**
 * The validation of a `defineTool` tool's input: a zod schema's `safeParse`, another validator's
 * `~standard.validate` (sync or async), issues as `path message`; none for a `jsonSchema`-only tool.
 */
function inputValidation(
  tool: AnyToolDefinition,
): ((input: unknown) => InputResult | Promise<InputResult>) | undefined {
  const schema = tool.inputSchema
  if (schema === undefined) return undefined
  if (schema instanceof z.ZodType) {
    return (input) => {
      const parsed = schema.safeParse(input)
      if (parsed.success) return { success: true, value: parsed.data }
      const details = parsed.error.issues
        .map((issue) => `${issue.path.map(String).join('.') || '(input)'} ${issue.message}`)
        .join('; ')
      return { success: false, details }
    }
  }
  return async (input) => {
    const result = await schema['~standard'].validate(input)
    if (result.issues === undefined) return { success: true, value: result.value }
    const details = result.issues.map((issue) => issueText(issuePath(issue.path), issue.message)).join('; ')
    return { success: false, details }
  }
}

/** The input check of a `defineTool` tool for `callTool`: the model reads the issues. */
function inputCheck(
  tool: AnyToolDefinition,
): ((input: unknown) => ToolInputCheck | Promise<ToolInputCheck>) | undefined {
  const validation = inputValidation(tool)
  if (!validation) return undefined
  return async (input) => {
    const result = await validation(input)
    return result.success
      ? result
      : { success: false, message: invalidToolInputText(tool.name, input, result.details) }
  }
}

/**
 * A `defineTool` tool's input validated by its `inputSchema` (zod or any Standard Schema; sync or
 * async): the validator's output (defaults applied, transforms run), or `InvalidToolInputError`
 * naming each issue's path. A `jsonSchema`-only tool gets its input back as it is. For frameworks
 * that call a neutral tool's `execute` themselves.
 */
export async function parseToolInput(tool: AnyToolDefinition, input: unknown): Promise<unknown> {
  const validation = inputValidation(tool)
  if (!validation) return input
  const result = await validation(input)
  if (result.success) return result.value
  throw new InvalidToolInputError(tool.name, input, result.details)
}

/**
 * Runs one call of a `defineTool` tool the model made (`callTool` with the tool's `inputSchema`): a
 * call to a tool not in `tools` gets an error result naming the available ones.
 */
export function runToolCall(
  context: RunContext,
  tools: ReadonlyArray<AnyToolDefinition>,
  call: ToolCallInfo,
  options: ToolCallOptions = {},
): Promise<ToolCallOutcome> {
  const tool = tools.find((candidate) => candidate.name === call.toolName)
  if (!tool) {
    const message = unknownToolText(
      call.toolName,
      tools.map((candidate) => candidate.name),
    )
    return callTool(
      context,
      call,
      {
        validate: () => ({ success: false, message }),
        execute: () => undefined,
      },
      options,
    )
  }
  const validate = inputCheck(tool)
  return callTool(
    context,
    call,
    {
      validate,
      execute: (input, signal) =>
        tool.execute(input, {
          toolCallId: call.toolCallId,
          signal,
          run: context,
          idempotencyKey: context.idempotencyKey(call.toolCallId),
        }),
    },
    options,
  )
}

/** Runs several tool calls of one turn in parallel; outcomes keep the calls' order. */
export function runToolCalls(
  context: RunContext,
  tools: ReadonlyArray<AnyToolDefinition>,
  calls: ReadonlyArray<ToolCallInfo>,
): Promise<ToolCallOutcome[]> {
  return Promise.all(calls.map((call) => runToolCall(context, tools, call)))
}

/** A tool output as the text a model reads: strings as they are, anything else as JSON. */
export function toolOutputText(output: unknown): string {
  if (typeof output === 'string') return output
  if (output === undefined) return ''
  try {
    return JSON.stringify(output)
  } catch {
    return String(output)
  }
}
