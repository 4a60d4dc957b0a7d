import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages'
import type { ReasoningDeltaEvent, TextDeltaEvent } from '@runner/core/adapter'
import type { ClaudeUsageFields } from './map-usage.js'

interface BlockState {
  type: string
  id?: string
  name?: string
  /** The `input_json_delta` pieces of a tool_use block, joined. */
  json: string
  chunks: number
  /** The input of `content_block_start` (`{}` for a streamed tool_use). */
  startInput?: unknown
}

/**
 * The input of a complete tool_use block from its joined `input_json_delta` pieces. Invalid JSON
 * is passed on as the raw string: the tool's validation then fails and the model reads why,
 * instead of the run crashing.
 */
export function parseToolInput(json: string, startInput: unknown): unknown {
  if (json.trim() === '') return startInput ?? {}
  try {
    return JSON.parse(json)
  } catch {
    return json
  }
}

/**
 * Follows one streamed answer event by event: the usage so far (from `message_start`, then the
 * cumulative totals of `message_delta`), the text and thinking deltas to emit, the tool inputs
 * assembled from `input_json_delta` (complete once their block stops), and where the answer is,
 * for a clear error if the stream breaks.
 */
export class StreamState {
  /** True once `message_start` arrived. */
  started = false
  /** The usage reported so far. */
  usage: ClaudeUsageFields = {}
  /** The inputs of the tool_use blocks that completed, by tool call id. */
  readonly toolInputs = new Map<string, unknown>()
  readonly #blocks = new Map<number, BlockState>()
  #open: BlockState | undefined

  /** Takes one event; returns the `text-delta` or `reasoning-delta` it carries, if any. */
  add(event: RawMessageStreamEvent): TextDeltaEvent | ReasoningDeltaEvent | undefined {
    switch (event.type) {
      case 'message_start':
        this.started = true
        this.usage = { ...event.message.usage }
        return undefined
      case 'message_delta': {
        // Cumulative totals of the whole message: overwrite what is present, never add.
        const next: Record<string, unknown> = { ...this.usage }
        for (const [key, value] of Object.entries(event.usage))
          if (value !== null && value !== undefined) next[key] = value
        this.usage = next as ClaudeUsageFields
        return undefined
      }
      case 'content_block_start': {
        const block = event.content_block as { type: string; id?: string; name?: string; input?: unknown }
        const state: BlockState = { type: block.type, json: '', chunks: 0 }
        if (block.id !== undefined) state.id = block.id
        if (block.name !== undefined) state.name = block.name
        if ('input' in block) state.startInput = block.input
        this.#blocks.set(event.index, state)
        this.#open = state
        return undefined
      }
      case 'content_block_delta': {
        const delta = event.delta
        if (delta.type === 'text_delta')
          return delta.text ? { type: 'text-delta', text: delta.text } : undefined
        if (delta.type === 'thinking_delta') {
          return delta.thinking ? { type: 'reasoning-delta', text: delta.thinking } : undefined
        }
        if (delta.type === 'input_json_delta') {
          const block = this.#blocks.get(event.index)
          if (block) {
            block.json += delta.partial_json
            block.chunks += 1
          }
        }
        return undefined
      }
      case 'content_block_stop': {
        const block = this.#blocks.get(event.index)
        if (block?.type === 'tool_use' && block.id !== undefined) {
          this.toolInputs.set(block.id, parseToolInput(block.json, block.startInput))
        }
        if (block === this.#open) this.#open = undefined
        return undefined
      }
      default:
        return undefined
    }
  }

  /** Where the answer is now, in words, for an error message. */
  position(): string {
    if (!this.started) return 'before the answer started'
    const open = this.#open
    if (open?.type === 'tool_use') {
      return `inside the tool_use block of "${open.name ?? 'unknown'}" (${open.chunks} input chunk(s) received, the call was not run)`
    }
    if (open) return `in the middle of a ${open.type} block`
    return `after ${this.#blocks.size} complete content block(s), before message_stop`
  }
}
