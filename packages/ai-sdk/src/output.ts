import type {
  AssistantModelMessage,
  FinishReason,
  GenerateTextResult,
  LanguageModelUsage,
  StepResult,
  StreamTextResult,
  ToolModelMessage,
  ToolSet,
} from 'ai'

/** What both kinds of output hold, read from the AI SDK's result of the successful attempt. */
interface AISDKOutputBase {
  /** Every step (model call and its tool calls) of the successful attempt, as the AI SDK records them. */
  steps: StepResult<ToolSet>[]
  /**
   * The assistant and tool messages of the successful attempt. To continue the conversation,
   * pass `[...messagesSoFar, ...responseMessages, { role: 'user', content: 'next question' }]`
   * as the next run's input.
   */
  responseMessages: Array<AssistantModelMessage | ToolModelMessage>
  /** Why the last model call stopped (`stop`, `tool-calls` when a stop condition ended the loop, `length`...). */
  finishReason: FinishReason
  /**
   * The AI SDK's usage of the successful attempt. The run's own `result.usage` is summed over
   * every attempt (and every fallback runner): that one is what the run cost.
   */
  totalUsage: LanguageModelUsage
}

/** The output of `run()`: the agent ran with `generateText` (or a ToolLoopAgent's `generate()`). */
export interface AISDKGenerateOutput extends AISDKOutputBase {
  mode: 'generate'
  /** The AI SDK's own result. */
  // biome-ignore lint/suspicious/noExplicitAny: any runtime context and structured output
  result: GenerateTextResult<ToolSet, any, any>
}

/**
 * The output of `runStreamed()`: the agent ran with `streamText` (or a ToolLoopAgent's
 * `stream()`). The runner has read its stream to the end; its promises (`text`, `steps`,
 * `response`, `output`...) are settled, and its streams replay what was streamed.
 */
export interface AISDKStreamOutput extends AISDKOutputBase {
  mode: 'stream'
  /** The AI SDK's own result. */
  // biome-ignore lint/suspicious/noExplicitAny: any runtime context and structured output
  result: StreamTextResult<ToolSet, any, any>
}

/** `result.output` of an `AISDKRunner` run: the AI SDK's result and what the runner read from it. */
export type AISDKOutput = AISDKGenerateOutput | AISDKStreamOutput

// biome-ignore lint/suspicious/noExplicitAny: any runtime context and structured output
export function generateOutput(result: GenerateTextResult<ToolSet, any, any>): AISDKGenerateOutput {
  return {
    mode: 'generate',
    result,
    steps: result.steps,
    responseMessages: result.responseMessages,
    finishReason: result.finishReason,
    totalUsage: result.totalUsage,
  }
}

// biome-ignore lint/suspicious/noExplicitAny: any runtime context and structured output
export async function streamOutput(result: StreamTextResult<ToolSet, any, any>): Promise<AISDKStreamOutput> {
  const [steps, responseMessages, finishReason, totalUsage] = await Promise.all([
    result.steps,
    result.responseMessages,
    result.finishReason,
    result.totalUsage,
  ])
  return { mode: 'stream', result, steps, responseMessages, finishReason, totalUsage }
}
