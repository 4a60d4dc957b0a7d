import type { Anthropic } from '@anthropic-ai/sdk'
import type { Message, MessageCreateParamsBase } from '@anthropic-ai/sdk/resources/messages'
import type { RunContext } from '@runner/core'
import { mapClaudeError } from './map-error.js'
import { requestOptions } from './request-options.js'

/**
 * The SDK refuses, before sending anything, a non-streamed call whose `max_tokens` could take more
 * than 10 minutes (about 21,000 tokens, less for a few models) unless the client has a `timeout`:
 * "Streaming is required for operations that may take longer than 10 minutes".
 */
function isStreamingRequired(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('Streaming is required')
}

/**
 * One non-streamed call (`messages.create`) with the attempt's signal and the SDK's retries off. Resolves `undefined` when the
 * SDK says the call must stream (large `maxTokens`): the caller then streams and collects.
 */
export async function createMessage(
  client: Anthropic,
  body: MessageCreateParamsBase,
  context: RunContext,
): Promise<Message | undefined> {
  let pending: Promise<Message>
  try {
    // The SDK checks max_tokens synchronously, before any request: only that check throws here.
    pending = client.messages.create({ ...body, stream: false }, requestOptions(context))
  } catch (error) {
    if (isStreamingRequired(error)) return undefined
    throw error
  }
  try {
    return await pending
  } catch (error) {
    throw mapClaudeError(error, { model: body.model, cutAt: 'while reading the JSON answer' })
  }
}
