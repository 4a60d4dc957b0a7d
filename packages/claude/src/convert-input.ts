import type { MessageParam } from '@anthropic-ai/sdk/resources/messages'
import { InvalidOptionsError } from '@runner/core'
import type { ClaudeInput } from './types.js'

const roles = new Set(['user', 'assistant', 'system'])

/**
 * The run's input as the conversation's first messages: a prompt becomes one user message; message
 * params are copied (the run appends to its own list, never to yours). Throws
 * `InvalidOptionsError` for an empty prompt or a message without role and content.
 */
export function toMessages(input: ClaudeInput): MessageParam[] {
  if (typeof input === 'string') {
    if (input.trim() === '') {
      throw new InvalidOptionsError([{ field: 'input', message: 'must not be empty' }], {
        subject: 'Claude input',
      })
    }
    return [{ role: 'user', content: input }]
  }
  if (!Array.isArray(input) || input.length === 0) {
    throw new InvalidOptionsError(
      [{ field: 'input', message: 'must be a prompt (string) or a non-empty array of message params' }],
      { subject: 'Claude input' },
    )
  }
  input.forEach((message, index) => {
    const valid =
      typeof message === 'object' &&
      message !== null &&
      roles.has(message.role) &&
      (typeof message.content === 'string' || Array.isArray(message.content))
    if (!valid) {
      throw new InvalidOptionsError(
        [
          {
            field: `input.${index}`,
            message: 'must be { role: "user" | "assistant", content: string | blocks }',
          },
        ],
        { subject: 'Claude input' },
      )
    }
  })
  return [...input]
}
