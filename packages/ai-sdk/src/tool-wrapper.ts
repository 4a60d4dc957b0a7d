import type { RunContext, ToolCallInfo } from '@runner/core'
import { errorMessage } from '@runner/core/adapter'
import { asSchema, type Tool, type ToolExecutionOptions } from 'ai'

/** What a wrapped tool needs of its attempt (`AttemptControls`). */
export interface ToolWrapperHost {
  readonly context: RunContext
  /** The attempt's signal: aborted on cancel, timeout or a failed hook. */
  readonly signal: AbortSignal
  /** Waits until the tool may start (streaming: after its model call ended and its `tool-call` was read). */
  beforeTool(toolCallId: string): Promise<void>
  /** The wrapper reports this call's end itself. */
  toolCallHandled(toolCallId: string): void
  /** Runs a hook; a throw fails the attempt (the AI SDK would swallow it) and is rethrown. */
  guard<T>(run: () => Promise<T>): Promise<T>
}

type Execute = NonNullable<Tool['execute']>

/**
 * A tool whose `execute` goes through the run's tool hooks: `onToolCallStart` first (a denial,
 * or a rewritten input that the tool's schema refuses, becomes an error the model reads; the
 * tool does not run), then the tool with the run's signal (the AI SDK's `abortSignal`), then
 * `onToolCallEnd` with the output or the error (and a `tool-call` trajectory step). A tool
 * that streams its output (an async generator function) stays one: its preliminary results
 * stream as before and its end is reported with the last one.
 */
export function wrapTool(name: string, tool: Tool, host: ToolWrapperHost): Tool {
  const execute = tool.execute as Execute
  const wrapped = isAsyncGeneratorFunction(execute)
    ? (input: unknown, options: ToolExecutionOptions<unknown>) =>
        runStreamingTool(host, name, tool, execute, input, options)
    : (input: unknown, options: ToolExecutionOptions<unknown>) =>
        runTool(host, name, tool, execute, input, options)
  return { ...tool, execute: wrapped } as Tool
}

async function runTool(
  host: ToolWrapperHost,
  name: string,
  tool: Tool,
  execute: Execute,
  input: unknown,
  options: ToolExecutionOptions<unknown>,
): Promise<unknown> {
  const call = await startTool(host, name, tool, input, options)
  let value: unknown
  try {
    value = await execute(call.input, options)
    // A plain function that returns an async iterable: its last value is the output.
    if (isAsyncIterable(value)) {
      let last: unknown
      for await (const item of value) last = item
      value = last
    }
  } catch (error) {
    if (host.signal.aborted) throw error
    await call.end(errorMessage(error), true)
    throw error
  }
  await call.end(value, false)
  return value
}

async function* runStreamingTool(
  host: ToolWrapperHost,
  name: string,
  tool: Tool,
  execute: Execute,
  input: unknown,
  options: ToolExecutionOptions<unknown>,
): AsyncGenerator<unknown, void, undefined> {
  const call = await startTool(host, name, tool, input, options)
  let last: unknown
  try {
    for await (const value of execute(call.input, options) as AsyncIterable<unknown>) {
      last = value
      yield value
    }
  } catch (error) {
    if (host.signal.aborted) throw error
    await call.end(errorMessage(error), true)
    throw error
  }
  await call.end(last, false)
}

/**
 * What comes before a wrapped tool runs: the wait for the reader (streaming), then
 * `onToolCallStart`. A denial, or a rewritten input the tool's schema refuses, ends the call
 * with an error the model reads (thrown, so that the AI SDK makes it the tool's error result).
 */
async function startTool(
  host: ToolWrapperHost,
  name: string,
  tool: Tool,
  input: unknown,
  options: ToolExecutionOptions<unknown>,
): Promise<{ input: unknown; end(output: unknown, isError: boolean): Promise<void> }> {
  const { context } = host
  const call: ToolCallInfo = { toolCallId: options.toolCallId, toolName: name, input }
  host.toolCallHandled(call.toolCallId)
  await host.beforeTool(call.toolCallId)
  const started = performance.now()
  const endWith = (usedInput: unknown) => (output: unknown, isError: boolean) =>
    host.guard(() =>
      context.hooks.toolCallEnd({
        ...call,
        input: usedInput,
        output,
        isError,
        durationMs: Math.round(performance.now() - started),
      }),
    )
  const decision = await host.guard(() => context.hooks.toolCallStart(call))
  if (decision.denied !== undefined) {
    const message = `Tool call denied: ${decision.denied}`
    await endWith(input)(message, true)
    throw new Error(message)
  }
  if (decision.input === input) return { input, end: endWith(input) }
  const checked = await validateInput(tool, decision.input)
  if (!checked.success) {
    const message = `Invalid input for tool "${name}" (as rewritten by onToolCallStart): ${checked.message}`
    await endWith(decision.input)(message, true)
    throw new Error(message)
  }
  return { input: checked.value, end: endWith(checked.value) }
}

/** Checks an input against the tool's own schema (zod, JSON Schema, Standard Schema...). */
async function validateInput(
  tool: Tool,
  input: unknown,
): Promise<{ success: true; value: unknown } | { success: false; message: string }> {
  const schema = asSchema(tool.inputSchema)
  if (!schema.validate) return { success: true, value: input }
  const result = await schema.validate(input)
  return result.success
    ? { success: true, value: result.value }
    : { success: false, message: errorMessage(result.error) }
}

function isAsyncGeneratorFunction(value: unknown): boolean {
  return Object.prototype.toString.call(value) === '[object AsyncGeneratorFunction]'
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  )
}
