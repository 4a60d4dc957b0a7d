import { type AdapterEvent, errorMessage } from '@runner/core/adapter'
import type { TextStreamPart, ToolSet } from 'ai'

/**
 * The run events of one part of the AI SDK's stream (`streamText(...).stream`), besides the
 * `native` event that carries every part with `includeNative`:
 *
 * | part                                   | event                                              |
 * | -------------------------------------- | -------------------------------------------------- |
 * | `text-delta`                           | `text-delta`                                       |
 * | `reasoning-delta`                      | `reasoning-delta`                                  |
 * | `tool-call`                            | `tool-call` (invalid calls included)               |
 * | `tool-result` (not `preliminary`)      | `tool-result`                                      |
 * | `tool-error`                           | `tool-result` with `isError` and the error's text  |
 * | `tool-output-denied`                   | `tool-result` with `isError` (approval denied): `deniedText`'s text, else `Tool execution denied.` |
 * | anything else                          | none (`finish-step`, `abort`, `error` end a turn or the attempt: see `readStream`) |
 */
export function eventsOf(
  part: TextStreamPart<ToolSet>,
  deniedText: (toolCallId: string) => string | undefined = noDenial,
): AdapterEvent[] {
  const event = eventOf(part, deniedText)
  return event === undefined ? [] : [event]
}

/** The run event of one part (each part maps to one event at most): `eventsOf` without the array, for the read loop. */
export function eventOf(
  part: TextStreamPart<ToolSet>,
  deniedText: (toolCallId: string) => string | undefined = noDenial,
): AdapterEvent | undefined {
  switch (part.type) {
    case 'text-delta':
      return part.text === '' ? undefined : { type: 'text-delta', text: part.text }
    case 'reasoning-delta':
      return part.text === '' ? undefined : { type: 'reasoning-delta', text: part.text }
    case 'tool-call':
      return { type: 'tool-call', toolCallId: part.toolCallId, toolName: part.toolName, input: part.input }
    case 'tool-result':
      if (part.preliminary) return undefined
      return {
        type: 'tool-result',
        toolCallId: part.toolCallId,
        toolName: part.toolName,
        output: part.output,
        isError: false,
      }
    case 'tool-error':
      return {
        type: 'tool-result',
        toolCallId: part.toolCallId,
        toolName: part.toolName,
        output: errorMessage(part.error),
        isError: true,
      }
    case 'tool-output-denied':
      return {
        type: 'tool-result',
        toolCallId: part.toolCallId,
        toolName: part.toolName,
        output: deniedText(part.toolCallId) ?? 'Tool execution denied.',
        isError: true,
      }
    default:
      return undefined
  }
}

const noDenial = (): undefined => undefined
