import type { RunContext } from '@runner/core'
import { NoOutputGeneratedError, type TextStreamPart, type ToolSet } from 'ai'
import type { AttemptControls } from './attempt-controls.js'
import { eventOf } from './map-stream-part.js'

/**
 * Reads a streamed attempt to its end, in order: every part as a `native` event (with
 * `includeNative`), its run event (`eventOf`), and:
 * - `tool-call` lets the tool start (`AttemptControls.beforeTool`);
 * - `abort` ends the attempt as canceled (the run's own reason, or `RunCanceledError` for the AI
 *   SDK's own abort), never as a completed run;
 * - `error` ends it with the part's error (a provider error, an unreadable answer...);
 * - a stream that ends without its `finish` part is an error too.
 * A stream that throws (a connection cut in the middle) rejects with what it threw.
 */
export async function readStream(
  stream: AsyncIterable<TextStreamPart<ToolSet>>,
  context: RunContext,
  controls: AttemptControls,
): Promise<void> {
  let finished = false
  const native = context.includeNative
  const deniedText = (toolCallId: string) => controls.deniedText(toolCallId)
  for await (const part of stream) {
    if (native) context.emit({ type: 'native', event: part })
    const event = eventOf(part, deniedText)
    if (event !== undefined) context.emit(event)
    switch (part.type) {
      case 'tool-call':
        controls.readToolCall(part.toolCallId)
        break
      case 'finish':
        finished = true
        break
      case 'abort':
        throw controls.abortError(part.reason)
      case 'error':
        throw part.error
    }
  }
  if (!finished) {
    throw new NoOutputGeneratedError({
      message:
        'The AI SDK stream ended before its finish part: the answer is incomplete. A new attempt may succeed.',
    })
  }
}
