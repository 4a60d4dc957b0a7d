import type { RunContext, ToolCallInfo } from '@runner/core'
import {
  type BegunToolCall,
  beginToolCall,
  callTool,
  errorMessage,
  invalidToolInputText,
  type ToolInputCheck,
} from '@runner/core/adapter'
import { asSchema, type Tool, type ToolExecutionOptions } from 'ai'

/** What a wrapped tool needs of its attempt (`AttemptControls`). */
export interface ToolWrapperHost {
  readonly context: RunContext
  /** Streaming: waits until the reader read the call's `tool-call` part. */
  beforeTool(toolCallId: string): Promise<void>
  /** The wrapper ends this call itself. */
  toolCallRun(toolCallId: string): void
  /** The input a person gave when approving this call, if they changed the model's (else undefined). */
  editedInput(toolCallId: string): unknown
}

type Execute = NonNullable<Tool['execute']>

/**
 * A tool whose `execute` runs through core's tool-call protocol (`callTool` / `beginToolCall`,
 * without events: the AI SDK's stream carries the tool-call and tool-result parts):
 * `onToolCallStart` (a denial, or a rewritten input the tool's own schema refuses, is an error the
 * model reads and the tool does not run), the tool with the SDK's options, `onToolCallEnd` and the
 * trajectory step. A failure reaches the AI SDK as a thrown error with core's text (`Tool call
 * denied: ...`, `Tool "x" failed: ...`), which the SDK turns into the tool's error result. A tool
 * that streams its output (an async generator function) stays one.
 *
 * Durable runs: a call in the run's journal (it completed before the run stopped) is not run
 * again: the model gets its journaled output (or error) and no hook fires. A call a person approved
 * with edited input (`approve(agentId, toolCallId, { input })`) runs with that input, checked with
 * the tool's schema; the model's own call in the conversation keeps the input the model gave.
 */
export function wrapTool(name: string, tool: Tool, host: ToolWrapperHost): Tool {
  const execute = tool.execute as Execute
  const callOf = async (input: unknown, options: ToolExecutionOptions<unknown>): Promise<ToolCallInfo> => {
    host.toolCallRun(options.toolCallId)
    await host.beforeTool(options.toolCallId)
    const edited = host.editedInput(options.toolCallId)
    return { toolCallId: options.toolCallId, toolName: name, input: edited === undefined ? input : edited }
  }
  if (isAsyncGeneratorFunction(execute)) {
    return {
      ...tool,
      async *execute(input: unknown, options: ToolExecutionOptions<unknown>) {
        const call = await callOf(input, options)
        const begun = await beginToolCall(host.context, call, inputCheck(tool, call, input), { emit: false })
        // Replayed from the journal, or refused: the outcome is the model's, the tool does not run.
        if (begun.outcome) {
          if (begun.outcome.isError) throw new Error(String(begun.outcome.output))
          yield begun.outcome.output
          return
        }
        let last: unknown
        try {
          for await (const value of execute(begun.input, options) as AsyncIterable<unknown>) {
            last = value
            yield value
          }
        } catch (error) {
          throw await failed(begun, error)
        }
        await begun.end(last, false)
      },
    } as Tool
  }
  return {
    ...tool,
    async execute(input: unknown, options: ToolExecutionOptions<unknown>) {
      const call = await callOf(input, options)
      // A journaled call comes back replayed (`callTool` returns its outcome without running it).
      const outcome = await callTool(
        host.context,
        call,
        {
          validate: inputCheck(tool, call, input),
          execute: async (checked) => lastOf(await execute(checked, options)),
        },
        { emit: false },
      )
      if (outcome.isError) throw new Error(String(outcome.output))
      return outcome.output
    },
  } as Tool
}

/** Ends a call whose tool threw: the error the AI SDK gets, with the text the model reads. */
async function failed(begun: BegunToolCall, error: unknown): Promise<Error> {
  const outcome = await begun.fail(error)
  return new Error(String(outcome.output), { cause: error })
}

/**
 * The input check after `onToolCallStart`: the AI SDK validated the model's input (`checked`)
 * already; any other input (one the hook rewrote, one given with an approval) is checked against
 * the tool's own schema (zod, JSON Schema, Standard Schema...).
 */
function inputCheck(
  tool: Tool,
  call: ToolCallInfo,
  checked: unknown,
): (input: unknown) => Promise<ToolInputCheck> {
  return async (input) => {
    if (input === checked) return { success: true, value: input }
    const result = await asSchema(tool.inputSchema).validate?.(input)
    if (!result || result.success) return { success: true, value: result ? result.value : input }
    const source = input === call.input ? 'the approval' : 'onToolCallStart'
    return {
      success: false,
      message: invalidToolInputText(
        call.toolName,
        input,
        `the input ${source} gave does not match: ${errorMessage(result.error)}`,
      ),
    }
  }
}

/** A plain function that returns an async iterable: its last value is the output. */
async function lastOf(value: unknown): Promise<unknown> {
  if (!isAsyncIterable(value)) return value
  let last: unknown
  for await (const item of value) last = item
  return last
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
