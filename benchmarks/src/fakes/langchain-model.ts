/**
 * A LangChain chat model scripted like the protocol fake: a `search` tool call unless the last
 * message is a tool result, then the answer; or one long streamed text. It answers at once, in
 * process, and keeps no state between calls, so one instance serves every run.
 */
import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager'
import { BaseChatModel } from '@langchain/core/language_models/chat_models'
import { AIMessage, AIMessageChunk, type BaseMessage, ToolMessage } from '@langchain/core/messages'
import { ChatGenerationChunk, type ChatResult } from '@langchain/core/outputs'
import { ANSWER } from '../lib/fixtures.ts'

const usage = { input_tokens: 10, output_tokens: 5, total_tokens: 15 }

const longText = (words: number): string => Array.from({ length: words }, (_, index) => `w${index}`).join(' ')

export class ScriptedChatModel extends BaseChatModel {
  readonly #words: number
  #calls = 0

  /** `words`: the length of the streamed answer (0: two-turn tool runs). */
  constructor(options: { words?: number } = {}) {
    super({})
    this.#words = options.words ?? 0
  }

  _llmType(): string {
    return 'scripted-bench'
  }

  /** Tools are scripted: binding them changes nothing. */
  override bindTools(): this {
    return this
  }

  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const message =
      this.#words > 0
        ? new AIMessage({ content: longText(this.#words), usage_metadata: usage })
        : ToolMessage.isInstance(messages.at(-1))
          ? new AIMessage({ content: ANSWER, usage_metadata: usage })
          : new AIMessage({
              content: '',
              tool_calls: [
                {
                  id: `call_${++this.#calls}`,
                  name: 'search',
                  args: { query: 'sea otters' },
                  type: 'tool_call',
                },
              ],
              usage_metadata: usage,
            })
    return { generations: [{ text: typeof message.content === 'string' ? message.content : '', message }] }
  }

  override async *_streamResponseChunks(
    _messages: BaseMessage[],
    _options: this['ParsedCallOptions'],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    for (let index = 0; index < this.#words; index++) {
      const text = index === 0 ? 'w0' : ` w${index}`
      const chunk = new ChatGenerationChunk({
        text,
        message: new AIMessageChunk({
          content: text,
          ...(index === this.#words - 1 ? { usage_metadata: usage } : {}),
        }),
      })
      yield chunk
      await runManager?.handleLLMNewToken(text, undefined, undefined, undefined, undefined, { chunk })
    }
  }
}
