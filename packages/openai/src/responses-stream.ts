import type { RunContext } from '@runner/core'
import { APIError } from 'openai'
import type { Response, ResponseOutputItem, ResponseStreamEvent } from 'openai/resources/responses/responses'
import { streamEndedEarly, unusableAnswer } from './map-error.js'

/**
 * Reads a raw Responses stream (`stream: true`) into the final `Response`, emitting `text-delta`
 * (output text and refusals), `reasoning-delta` (reasoning summaries and reasoning text) and,
 * with `includeNative`, every event as a `native` event.
 *
 * The stream must end with `response.completed` or `response.incomplete`: `response.failed` and
 * `error` events throw `APIError`, an abort throws the signal's reason (the raw stream ends
 * silently then), and a stream that just stops throws `APIConnectionError`.
 */
export async function readResponsesStream(
  stream: AsyncIterable<ResponseStreamEvent>,
  context: RunContext,
): Promise<Response> {
  let final: Response | undefined
  const items: ResponseOutputItem[] = []
  for await (const event of stream) {
    // The run settles at once on abort: stop reading too, so that no delta follows its end.
    context.signal.throwIfAborted()
    if (context.includeNative) context.emit({ type: 'native', event })
    switch (event.type) {
      case 'response.output_text.delta':
      case 'response.refusal.delta':
        if (event.delta) context.emit({ type: 'text-delta', text: event.delta })
        break
      case 'response.reasoning_summary_text.delta':
      case 'response.reasoning_text.delta':
        if (event.delta) context.emit({ type: 'reasoning-delta', text: event.delta })
        break
      case 'response.reasoning_summary_part.added':
        // Summary parts are paragraphs: keep them apart in the reasoning text.
        if (event.summary_index > 0) context.emit({ type: 'reasoning-delta', text: '\n\n' })
        break
      case 'response.output_item.done':
        items[event.output_index ?? items.length] = event.item
        break
      case 'response.completed':
      case 'response.incomplete':
        final = event.response
        break
      case 'response.failed':
        throw responseFailed(event.response)
      case 'error':
        throw new APIError(
          undefined,
          { code: event.code, message: event.message, param: event.param },
          undefined,
          undefined,
        )
    }
  }
  context.signal.throwIfAborted()
  if (!final) throw streamEndedEarly('no response.completed event')
  // A server whose final event carries no output: the items streamed before it.
  const output = final.output?.length ? final.output : items.filter(Boolean)
  return withOutputText({ ...final, output })
}

/** `response.output_text` as the SDK fills it for non-streamed calls: every output text, joined. */
export function withOutputText(response: Response): Response {
  const texts: string[] = []
  for (const item of response.output ?? []) {
    if (item.type !== 'message') continue
    for (const part of item.content ?? []) if (part.type === 'output_text') texts.push(part.text)
  }
  return { ...response, output_text: texts.join('') }
}

/** The error of a response whose status is `failed`, as the SDK's `APIError` (status-less). */
export function responseFailed(response: Response): APIError | Error {
  const error = response?.error
  if (!error) return unusableAnswer('The response failed and the server gave no reason.')
  return new APIError(undefined, { code: error.code, message: error.message }, undefined, undefined)
}
