import { randomUUID } from 'node:crypto'
import { ToolMessage } from '@langchain/core/messages'
import { currentRun, InvalidToolInputError, type ToolCallInfo } from '@runner/core'
import {
  abortReason,
  beginToolCall,
  raceAbort,
  type ToolCallOutcome,
  type ToolInputCheck,
  toolOutputText,
} from '@runner/core/adapter'
import { isGraphBubbleUp } from './langgraph-errors.js'
import { RunCallbackHandler } from './run-callback-handler.js'
import { toolOutputOf } from './tool-output.js'

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
 * `invoke` runs the call through core's tool-call protocol (`beginToolCall`): `tool-call` event,
 * `onToolCallStart` (a denial answers the model without running the tool; a rewritten input is
 * what the tool gets), the input checked against the tool's zod schema, the tool with the
 * attempt's signal, `onToolCallEnd`, the trajectory step and `tool-result`. A call from a model
 * that is refused or fails gets an error `ToolMessage` the model reads; a direct call (by a
 * node) gets the error itself. Outside a run it is the tool itself.
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
  const handler = RunCallbackHandler.from(config) ?? RunCallbackHandler.of(currentRun())
  if (!handler) return tool.invoke(input, config)
  if (!handler.active) {
    throw handler.signal.aborted
      ? abortReason(handler.signal)
      : new Error('The run this tool call belongs to has ended.')
  }
  return callUnderProtocol(handler, tool, input, config)
}

/** One tool call under core's protocol, the tool being LangChain's, the result in LangChain's shape. */
async function callUnderProtocol(
  handler: RunCallbackHandler,
  tool: InvocableTool,
  input: unknown,
  config: unknown,
): Promise<unknown> {
  const { context } = handler
  const fromModel = isToolCallInput(input)
  const configured = config as { toolCall?: { id?: unknown }; toolCallId?: unknown } | undefined
  const toolCallId = String(
    (fromModel ? input.id : undefined) ?? configured?.toolCall?.id ?? configured?.toolCallId ?? randomUUID(),
  )
  const call: ToolCallInfo = { toolCallId, toolName: tool.name, input: fromModel ? input.args : input }
  let invalid: InvalidToolInputError | undefined
  const begun = await beginToolCall(context, call, (args) => {
    const checked = checkInput(tool, args, handler.invalidArguments.get(toolCallId))
    if ('error' in checked) invalid = checked.error
    return checked
  })
  if (begun.replayed && begun.outcome) return replayed(begun.outcome, fromModel)
  if (begun.outcome) {
    if (fromModel) return errorMessage(begun.outcome)
    throw invalid ?? new Error(begun.outcome.output as string)
  }

  // The tool's own LangChain run gets an id the callbacks know, so that they leave it to the wrapper.
  const runId = randomUUID()
  handler.wrappedRuns.add(runId)
  let result: unknown
  try {
    const toolInput = fromModel ? { ...input, args: begun.input } : begun.input
    // The key a tool gives an external API to dedupe its side effect: `<agentId>:<toolCallId>`.
    const metadata = {
      ...(configured as { metadata?: Record<string, unknown> } | undefined)?.metadata,
      runner_idempotency_key: context.idempotencyKey(toolCallId),
    }
    result = await raceAbort(
      Promise.resolve().then(() => tool.invoke(toolInput, { ...configured, runId, metadata })),
      handler.signal,
    )
  } catch (error) {
    // LangGraph's control flow (interrupt()) goes up untouched; cancellation is rethrown by `fail`.
    if (isGraphBubbleUp(error)) throw error
    const outcome = await begun.fail(error)
    if (fromModel) return errorMessage(outcome)
    throw error
  } finally {
    handler.wrappedRuns.delete(runId)
  }
  const { output, isError } = toolOutputOf(result)
  await begun.end(output, isError)
  return result
}

/**
 * A call that completed in an earlier process (a resumed run's journal): its recorded result,
 * without running the tool. A model gets it as a `ToolMessage`; a direct call its output, or
 * the error it ended with.
 */
function replayed(outcome: ToolCallOutcome, fromModel: boolean): unknown {
  if (fromModel) {
    return new ToolMessage({
      content: toolOutputText(outcome.output),
      tool_call_id: outcome.toolCallId,
      name: outcome.toolName,
      status: outcome.isError ? 'error' : 'success',
    })
  }
  if (outcome.isError) throw new Error(toolOutputText(outcome.output))
  return outcome.output
}

/** The error result a model reads for a call that was refused or failed. */
function errorMessage(outcome: ToolCallOutcome): ToolMessage {
  return new ToolMessage({
    content: toolOutputText(outcome.output),
    tool_call_id: outcome.toolCallId,
    name: outcome.toolName,
    status: 'error',
  })
}

/**
 * The input check of a wrapped tool: arguments that were not valid JSON are refused as such;
 * anything else is checked against the tool's zod schema (each issue as `path message`) and
 * passed on unchanged (the tool parses it itself). A tool without a zod schema checks its own.
 */
function checkInput(
  tool: InvocableTool,
  input: unknown,
  invalidJson: string | undefined,
): ToolInputCheck | { success: false; message: string; error: InvalidToolInputError } {
  const refuse = (details: string) => {
    const error = new InvalidToolInputError(tool.name, input, details)
    return { success: false as const, message: error.message, error }
  }
  if (invalidJson !== undefined && input === invalidJson) return refuse('the arguments are not valid JSON')
  const schema = tool.schema as
    | { safeParse?: (value: unknown) => { success: boolean; error?: { issues?: unknown[] } } }
    | undefined
  if (typeof schema?.safeParse !== 'function') return { success: true, value: input }
  const parsed = schema.safeParse(input)
  if (parsed.success) return { success: true, value: input }
  const details = (parsed.error?.issues ?? [])
    .map((issue) => {
      const { path, message } = issue as { path?: unknown[]; message?: string }
      return `${(path ?? []).map(String).join('.') || '(input)'} ${message ?? 'is invalid'}`
    })
    .join('; ')
  return refuse(details)
}

/**
 * Wraps every tool of a list (see `wrapTool`), keeping the list's type, for `createAgent({ tools })`
 * or `new ToolNode(tools)`: `createAgent({ model, tools: runner.wrapTools([search, fetchPage]) })`.
 */
export function wrapTools<T extends unknown[]>(tools: [...T]): T {
  return tools.map((tool) => wrapTool(tool)) as unknown as T
}
