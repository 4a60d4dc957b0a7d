import { errorMessage } from '../activity/tracker.js'
import { InvalidToolInputError } from '../errors/invalid-tool-input-error.js'
import type { ToolCallInfo } from '../runner/hooks.js'
import type { RunContext } from '../runner/types.js'
import { raceAbort } from '../util/abort.js'
import type { AnyToolDefinition } from './define-tool.js'

/** The outcome of one tool call, ready to feed back to the model. */
export interface ToolCallOutcome extends ToolCallInfo {
  /** What the tool returned, or an error message the model can read. */
  output: unknown
  isError: boolean
}

/**
 * Runs one tool call the model made, with everything the contract asks for: `tool-call` and
 * `tool-result` events, the tool hooks (deny, input rewrite), input validation, errors turned into
 * results the model can read, the run's signal, and a trajectory step. Cancellation is rethrown,
 * never swallowed; a throwing hook fails the run.
 */
export async function runToolCall(
  context: RunContext,
  tools: ReadonlyArray<AnyToolDefinition>,
  call: ToolCallInfo,
): Promise<ToolCallOutcome> {
  context.emit({ type: 'tool-call', toolCallId: call.toolCallId, toolName: call.toolName, input: call.input })
  const started = performance.now()
  const decision = await context.hooks.toolCallStart(call)
  let output: unknown
  let isError = false
  const tool = tools.find((candidate) => candidate.name === call.toolName)
  if (decision.denied !== undefined) {
    output = `Tool call denied: ${decision.denied}`
    isError = true
  } else if (!tool) {
    output = `Unknown tool "${call.toolName}". Available tools: ${tools.map((candidate) => candidate.name).join(', ') || 'none'}.`
    isError = true
  } else {
    const parsed = tool.inputSchema.safeParse(decision.input)
    if (!parsed.success) {
      const details = parsed.error.issues
        .map((issue) => `${issue.path.map(String).join('.') || '(input)'} ${issue.message}`)
        .join('; ')
      output = new InvalidToolInputError(call.toolName, decision.input, details).message
      isError = true
    } else {
      try {
        output = await raceAbort(
          Promise.resolve().then(() =>
            tool.execute(parsed.data, { toolCallId: call.toolCallId, signal: context.signal, run: context }),
          ),
          context.signal,
        )
      } catch (error) {
        if (context.signal.aborted) throw context.signal.reason
        output = `Tool "${call.toolName}" failed: ${errorMessage(error)}`
        isError = true
      }
    }
  }
  const input = decision.denied === undefined ? decision.input : call.input
  const durationMs = Math.round(performance.now() - started)
  await context.hooks.toolCallEnd({
    toolCallId: call.toolCallId,
    toolName: call.toolName,
    input,
    output,
    isError,
    durationMs,
  })
  context.emit({ type: 'tool-result', toolCallId: call.toolCallId, toolName: call.toolName, output, isError })
  return { toolCallId: call.toolCallId, toolName: call.toolName, input, output, isError }
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
