import { randomUUID } from 'node:crypto'
import { ToolMessage } from '@langchain/core/messages'
import { ToolInputParsingException } from '@langchain/core/tools'
import { currentRun, InvalidToolInputError, type ToolCallInfo } from '@runner/core'
import { raceAbort } from '@runner/core/adapter'
import { LangChainAttempt } from './langchain-attempt.js'
import { isGraphBubbleUp } from './langgraph-errors.js'
import { RunCallbackHandler } from './run-callback-handler.js'
import { toolFailureText, toolOutputOf } from './tool-output.js'

const originalTool = Symbol.for('runner.langchain.originalTool')

/** What a LangChain tool looks like to `createAgent` and `ToolNode`: a name and `invoke`. */
interface InvocableTool {
  name: string
  schema?: unknown
  invoke(input: unknown, config?: unknown): Promise<unknown>
}

/** A model's tool call as `ToolNode` passes it to `tool.invoke`. */
interface ToolCallInput {
  type: 'tool_call'
  id?: string
  name: string
  args: unknown
}

function isInvocableTool(value: unknown): value is InvocableTool {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as Partial<InvocableTool>
  return typeof candidate.name === 'string' && typeof candidate.invoke === 'function'
}

function isToolCallInput(input: unknown): input is ToolCallInput {
  return typeof input === 'object' && input !== null && (input as { type?: unknown }).type === 'tool_call'
}

/** Whether `tool` is already wrapped by `wrapTool` (by any copy of this package). */
export function isWrappedTool(tool: unknown): boolean {
  return typeof tool === 'object' && tool !== null && Object.hasOwn(tool, originalTool)
}

/**
 * The tool with the runner's tool hooks around every call: inside a `LangChainRunner` run,
 * `invoke` emits `tool-call`, fires `onToolCallStart` (a denial answers the model without running
 * the tool; a rewritten input is what the tool gets), runs the tool, turns a throw into an error
 * result the model reads, fires `onToolCallEnd`, records the step and emits `tool-result`.
 * Outside a run it is the tool itself.
 *
 * The wrapper is the tool with `invoke` replaced (its prototype is the tool): name, description,
 * schema and every other field are the tool's, so `createAgent`, `ToolNode` and `bindTools` treat
 * it as the original. Anything that is not an invocable tool (a provider's built-in tool
 * definition) is returned as it is, and so is a tool already wrapped.
 */
export function wrapTool<T>(tool: T): T {
  if (!isInvocableTool(tool) || isWrappedTool(tool)) return tool
  const original: InvocableTool = tool
  const wrapped = Object.create(original) as T
  Object.defineProperty(wrapped, originalTool, { value: original })
  Object.defineProperty(wrapped, 'invoke', {
    value: (input: unknown, config?: unknown) => invokeWithHooks(original, input, config),
    configurable: true,
    writable: true,
  })
  return wrapped
}

async function invokeWithHooks(tool: InvocableTool, input: unknown, config: unknown): Promise<unknown> {
  const handler = RunCallbackHandler.from(config)
  const attempt = handler?.attempt ?? LangChainAttempt.of(currentRun())
  if (!attempt) return tool.invoke(input, config)
  if ((handler && !handler.active) || attempt.inactive) {
    throw attempt.signal.aborted
      ? attempt.signal.reason
      : new Error('The run this tool call belongs to has ended.')
  }
  return callWithHooks(attempt, tool, input, config)
}

/** One tool call with `runToolCall`'s semantics (core), the tool being LangChain's. */
async function callWithHooks(
  attempt: LangChainAttempt,
  tool: InvocableTool,
  input: unknown,
  config: unknown,
): Promise<unknown> {
  const { context, signal } = attempt
  const fromModel = isToolCallInput(input)
  const configured = config as
    | { toolCall?: { id?: unknown }; toolCallId?: unknown; signal?: AbortSignal }
    | undefined
  const toolCallId = String(
    (fromModel ? input.id : undefined) ?? configured?.toolCall?.id ?? configured?.toolCallId ?? randomUUID(),
  )
  const call: ToolCallInfo = { toolCallId, toolName: tool.name, input: fromModel ? input.args : input }
  context.emit({ type: 'tool-call', ...call })
  const started = performance.now()
  const decision = await failing(attempt, () => context.hooks.toolCallStart(call))

  let outcome: { ran: true; result: unknown } | { ran: false; failure?: unknown }
  let output: unknown
  let isError = false
  if (decision.denied !== undefined) {
    outcome = { ran: false }
    output = `Tool call denied: ${decision.denied}`
    isError = true
  } else {
    // The tool's own LangChain run gets an id the callbacks know, so that they leave it to the wrapper.
    const runId = randomUUID()
    attempt.wrappedRuns.add(runId)
    try {
      const toolInput = fromModel ? { ...input, args: decision.input } : decision.input
      const result = await raceAbort(
        Promise.resolve().then(() => tool.invoke(toolInput, { ...configured, runId })),
        signal,
      )
      outcome = { ran: true, result }
      ;({ output, isError } = toolOutputOf(result))
    } catch (error) {
      // Cancellation and LangGraph's control flow (interrupt()) go up untouched.
      if (signal.aborted || configured?.signal?.aborted || isGraphBubbleUp(error)) throw error
      outcome = { ran: false, failure: error }
      output = invalidInputText(tool, decision.input, error) ?? toolFailureText(tool.name, error)
      isError = true
    } finally {
      attempt.wrappedRuns.delete(runId)
    }
  }

  await failing(attempt, () =>
    context.hooks.toolCallEnd({
      toolCallId,
      toolName: tool.name,
      input: decision.denied === undefined ? decision.input : call.input,
      output,
      isError,
      durationMs: Math.round(performance.now() - started),
    }),
  )
  context.emit({ type: 'tool-result', toolCallId, toolName: tool.name, output, isError })
  if (outcome.ran) return outcome.result
  if (fromModel) {
    return new ToolMessage({
      content: String(output),
      tool_call_id: toolCallId,
      name: tool.name,
      status: 'error',
    })
  }
  // Called directly (not by a model): the caller gets the error itself.
  throw outcome.failure ?? new Error(String(output))
}

/** Runs a hook; a throw fails the whole run (the LangChain run is stopped) and is rethrown. */
async function failing<T>(attempt: LangChainAttempt, fire: () => Promise<T>): Promise<T> {
  try {
    return await fire()
  } catch (error) {
    attempt.fail(error)
    throw error
  }
}

/**
 * Core's `InvalidToolInputError` message for input the tool's schema refused (LangChain throws
 * `ToolInputParsingException` before the tool runs): each zod issue as `path message`.
 */
function invalidInputText(tool: InvocableTool, input: unknown, error: unknown): string | undefined {
  const refused =
    error instanceof ToolInputParsingException ||
    (error instanceof Error && error.message.startsWith('Received tool input did not match expected schema'))
  if (!refused) return undefined
  const schema = tool.schema as
    | { safeParse?: (value: unknown) => { success: boolean; error?: { issues?: unknown[] } } }
    | undefined
  const issues = typeof schema?.safeParse === 'function' ? schema.safeParse(input).error?.issues : undefined
  const details = Array.isArray(issues)
    ? issues
        .map((issue) => {
          const { path, message } = issue as { path?: unknown[]; message?: string }
          return `${(path ?? []).map(String).join('.') || '(input)'} ${message ?? 'is invalid'}`
        })
        .join('; ')
    : (error as Error).message
  return new InvalidToolInputError(tool.name, input, details).message
}

/**
 * Wraps every tool of a list (see `wrapTool`), keeping the list's type, for `createAgent({ tools })`
 * or `new ToolNode(tools)`: `createAgent({ model, tools: runner.wrapTools([search, fetchPage]) })`.
 */
export function wrapTools<T extends unknown[]>(tools: [...T]): T {
  return tools.map((tool) => wrapTool(tool)) as unknown as T
}
