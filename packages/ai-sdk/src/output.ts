import type {
  AssistantModelMessage,
  FinishReason,
  GenerateTextResult,
  LanguageModelUsage,
  StepResult,
  StreamTextEndEvent,
  StreamTextOnEndCallback,
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

/**
 * The output of a streamed attempt whose stream was read to its end. Read from the `onEnd` event
 * (`StreamEnd`) when the AI SDK sent one: each of the result's promises (`steps`, `text`,
 * `totalUsage`...) starts another full replay of the stream in the background, for nothing once
 * it was read. Without the event, from those promises.
 */
export async function streamOutput(
  // biome-ignore lint/suspicious/noExplicitAny: any runtime context and structured output
  result: StreamTextResult<ToolSet, any, any>,
  end: StreamEnd,
): Promise<{ output: AISDKStreamOutput; text: string }> {
  const event = end.event
  if (event) {
    const { steps, responseMessages, finishReason, totalUsage, text } = event
    const output: AISDKStreamOutput = {
      mode: 'stream',
      result,
      steps: steps as StepResult<ToolSet>[],
      responseMessages: responseMessages as AISDKStreamOutput['responseMessages'],
      finishReason,
      totalUsage,
    }
    return { output, text }
  }
  const [steps, responseMessages, finishReason, totalUsage, text] = await Promise.all([
    result.steps,
    result.responseMessages,
    result.finishReason,
    result.totalUsage,
    result.text,
  ])
  return { output: { mode: 'stream', result, steps, responseMessages, finishReason, totalUsage }, text }
}

/** A streamed attempt's `onEnd` (the user's own, if any, called after), keeping its event for `streamOutput`. */
export class StreamEnd {
  // biome-ignore lint/suspicious/noExplicitAny: any runtime context and structured output
  #event: StreamTextEndEvent<ToolSet, any, any> | undefined
  // biome-ignore lint/suspicious/noExplicitAny: any runtime context and structured output
  readonly #user: StreamTextOnEndCallback<ToolSet, any, any> | undefined

  // biome-ignore lint/suspicious/noExplicitAny: any runtime context and structured output
  constructor(user?: StreamTextOnEndCallback<ToolSet, any, any>) {
    this.#user = user
  }

  /** The event of the generation's end, once the AI SDK sent it. */
  // biome-ignore lint/suspicious/noExplicitAny: any runtime context and structured output
  get event(): StreamTextEndEvent<ToolSet, any, any> | undefined {
    return this.#event
  }

  /** The `onEnd` callback to give the AI SDK. */
  // biome-ignore lint/suspicious/noExplicitAny: any runtime context and structured output
  readonly onEnd = async (event: StreamTextEndEvent<ToolSet, any, any>): Promise<void> => {
    this.#event = event
    await this.#user?.(event)
  }
}
