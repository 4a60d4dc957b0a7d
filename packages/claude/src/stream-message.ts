import type { Anthropic } from '@anthropic-ai/sdk'
import type { Message, MessageCreateParamsBase } from '@anthropic-ai/sdk/resources/messages'
import type { RunContext } from '@runner/core'
import { mapClaudeError } from './map-error.js'
import { mapUsage } from './map-usage.js'
import { requestOptions } from './request-options.js'
import { StreamState } from './stream-state.js'

/** A streamed answer: the SDK's final message and the tool inputs assembled from the deltas. */
export interface StreamedMessage {
  message: Message
  /** Input of each tool_use block, by tool call id, parsed from its joined `input_json_delta`. */
  toolInputs: ReadonlyMap<string, unknown>
}

/**
 * One call on the SDK's message stream (`messages.stream`) with the attempt's signal and the SDK's
 * retries off. With
 * `emitEvents` (somebody reads the run's stream), `text_delta` becomes `text-delta` and
 * `thinking_delta` becomes `reasoning-delta` as they arrive, and with `includeNative` every raw
 * stream event is also a `native` event.
 *
 * A stream that breaks fails with a clear error (`ClaudeConnectionError` saying where it broke,
 * `ClaudeMalformedResponseError`), never a hang nor a partial answer. The usage reported before
 * the break (`message_start`) still counts: those tokens were billed.
 */
export async function streamMessage(
  client: Anthropic,
  body: MessageCreateParamsBase,
  context: RunContext,
  options: { emitEvents: boolean },
): Promise<StreamedMessage> {
  const state = new StreamState()
  const stream = client.messages.stream(body, requestOptions(context))
  try {
    for await (const event of stream) {
      // The run settles at once on abort; stop reading too, so no delta follows the end.
      context.signal.throwIfAborted()
      const delta = state.add(event)
      if (!options.emitEvents) continue
      if (context.includeNative) context.emit({ type: 'native', event })
      if (delta) context.emit(delta)
    }
    // Rejects when the stream failed or ended before message_stop, even if iteration ended quietly.
    const message = await stream.finalMessage()
    return { message, toolInputs: state.toolInputs }
  } catch (error) {
    stream.abort()
    if (state.started) context.addUsage(mapUsage(state.usage))
    throw mapClaudeError(error, { model: body.model, cutAt: state.position() })
  }
}
