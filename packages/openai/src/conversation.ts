import { InvalidOptionsError } from '@runner/core'
import type { JsonValue } from '@runner/core/store'
import type { ChatCompletion, ChatCompletionMessageParam } from 'openai/resources/chat/completions'
import type { Response, ResponseInputItem } from 'openai/resources/responses/responses'
import type { OpenAIApi } from './agent.js'

/**
 * What a run of an `OpenAIRunner` agent starts from:
 * - a string: one user message;
 * - a list of messages in the agent's API shape, to continue a conversation (pass the
 *   `messages` of a previous result). Plain `{ role: 'user' | 'assistant' | 'system' | 'developer', content: string }`
 *   messages fit both APIs; tool calls, tool results, images and other items must be those of
 *   the agent's `api` (`ChatCompletionMessageParam` for `chat`, `ResponseInputItem` for `responses`).
 */
export type OpenAIInput =
  | string
  | ReadonlyArray<ChatCompletionMessageParam>
  | ReadonlyArray<ResponseInputItem>

/** The result of a Chat Completions agent (`RunResult.output`). */
export interface OpenAIChatOutput {
  api: 'chat'
  /** The last completion: the final answer (a streamed one is assembled from its chunks). */
  completion: ChatCompletion
  /**
   * The whole conversation without the system message: the input, every assistant turn and tool
   * result, the final answer last. Pass it (with a new user message) as the next run's input.
   */
  messages: ChatCompletionMessageParam[]
}

/** The result of a Responses agent (`RunResult.output`). */
export interface OpenAIResponsesOutput {
  api: 'responses'
  /** The last response, with `output_text` filled in. */
  response: Response
  /**
   * The whole conversation as Responses input items: the input, every output item (messages,
   * function calls, reasoning) and function call output, the final answer last. Pass it (with a
   * new user message) as the next run's input.
   */
  messages: ResponseInputItem[]
}

/** `RunResult.output` of `OpenAIRunner`: the native result of the agent's API and the conversation. */
export type OpenAIOutput = OpenAIChatOutput | OpenAIResponsesOutput

/**
 * The input as the first messages of the conversation (copied: the caller's array is never
 * changed). Throws `InvalidOptionsError` for anything but a string or a non-empty list of objects.
 */
export function inputMessages<T>(input: OpenAIInput, api: OpenAIApi): T[] {
  if (typeof input === 'string') return [{ role: 'user', content: input } as T]
  if (!Array.isArray(input) || input.length === 0) {
    throw new InvalidOptionsError(
      [
        {
          field: 'input',
          message: `must be a string or a non-empty list of ${api === 'chat' ? 'Chat Completions messages' : 'Responses input items'}`,
        },
      ],
      { subject: 'run input' },
    )
  }
  const position = input.findIndex((message) => typeof message !== 'object' || message === null)
  if (position >= 0) {
    throw new InvalidOptionsError([{ field: `input.${position}`, message: 'must be a message object' }], {
      subject: 'run input',
    })
  }
  return [...(input as T[])]
}

/**
 * The messages of a checkpoint's conversation (`{ api, messages }`, as the drivers' `snapshot`
 * writes it), for a run that resumes. Throws `InvalidOptionsError` when the checkpoint holds the
 * other API's conversation (resume with an agent of the same `api`) or no conversation at all.
 */
export function restoredMessages<T>(state: JsonValue, api: OpenAIApi): T[] {
  const saved = state as { api?: unknown; messages?: unknown } | null
  if (typeof saved !== 'object' || saved === null || !Array.isArray(saved.messages)) {
    throw new InvalidOptionsError(
      [
        {
          field: 'checkpoint.state.conversation',
          message: 'is not an OpenAIRunner conversation ({ api, messages }); the run cannot continue from it',
        },
      ],
      { subject: 'checkpoint' },
    )
  }
  if (saved.api !== api) {
    throw new InvalidOptionsError(
      [
        {
          field: 'agent.api',
          message: `must be '${String(saved.api)}' to resume this run: its checkpoint holds a ${saved.api === 'chat' ? 'Chat Completions' : 'Responses'} conversation`,
        },
      ],
      { subject: 'agent' },
    )
  }
  return [...(saved.messages as T[])]
}
