import { InvalidOptionsError } from '@runner/core'
import type { ModelMessage } from 'ai'

/**
 * What a run starts from:
 * - a string: one user message (`prompt`);
 * - a list of `ModelMessage`s: the conversation so far (`messages`), to continue one (append
 *   `output.responseMessages` and the next user message); UI messages from `useChat` go through
 *   the AI SDK's `convertToModelMessages` first;
 * - `{ prompt }` or `{ messages }`, with `options`: the call options of a `ToolLoopAgent` that
 *   declares a `callOptionsSchema` (`agent.generate({ prompt, options })`).
 */
export type AISDKInput =
  | string
  | ModelMessage[]
  | { prompt: string | ModelMessage[]; messages?: never; options?: unknown }
  | { messages: ModelMessage[]; prompt?: never; options?: unknown }

/** The input as the AI SDK's call parameters. */
export type AISDKPrompt = ({ prompt: string | ModelMessage[] } | { messages: ModelMessage[] }) & {
  options?: unknown
}

/** The input as `prompt` or `messages` (and `options`), as `generateText` and `agent.generate()` take it. */
export function promptOf(input: AISDKInput): AISDKPrompt {
  if (typeof input === 'string') return { prompt: input }
  if (Array.isArray(input)) return { messages: input }
  const { options } = input
  const base = input.messages !== undefined ? { messages: input.messages } : { prompt: input.prompt }
  return options === undefined ? base : { ...base, options }
}

/**
 * Refuses an input that cannot start a run (`InvalidOptionsError` naming `input...`): an empty
 * prompt or conversation, both or neither of `prompt` and `messages`, `options` for an agent
 * that takes none. The messages themselves are checked by the AI SDK.
 */
export function checkInput(input: AISDKInput, takesOptions: boolean): void {
  if (typeof input === 'string') {
    if (input.trim() === '') throw invalid('input', 'must not be empty')
    return
  }
  if (Array.isArray(input)) {
    if (input.length === 0) throw invalid('input', 'must hold at least one message')
    return
  }
  if (typeof input !== 'object' || input === null) {
    throw invalid('input', 'must be a string, a list of ModelMessages, or { prompt | messages, options? }')
  }
  const hasPrompt = input.prompt !== undefined
  const hasMessages = input.messages !== undefined
  if (hasPrompt === hasMessages) throw invalid('input', 'must have either prompt or messages (not both)')
  if (hasMessages && (!Array.isArray(input.messages) || input.messages.length === 0)) {
    throw invalid('input.messages', 'must hold at least one message')
  }
  if (hasPrompt) {
    const prompt: unknown = input.prompt
    if (typeof prompt === 'string' ? prompt.trim() === '' : !Array.isArray(prompt) || prompt.length === 0) {
      throw invalid('input.prompt', 'must be a non-empty string or list of messages')
    }
  }
  if (input.options !== undefined && !takesOptions) {
    throw invalid('input.options', 'only a ToolLoopAgent takes call options (its callOptionsSchema)')
  }
}

function invalid(field: string, message: string): InvalidOptionsError {
  return new InvalidOptionsError([{ field, message }], { subject: 'input' })
}
