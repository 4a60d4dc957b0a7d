import type { ScenarioTurn, ScenarioUsage } from '../scenario/scenario.js'
import {
  type AnswerContext,
  argumentsJson,
  type HeaderProblem,
  type ProtocolCodec,
} from './protocol-codec.js'
import {
  deltasBeforeCut,
  type SseScript,
  SseScriptBuilder,
  splitArguments,
  splitText,
  sseFrame,
} from './sse.js'

/**
 * Anthropic Messages (`POST /v1/messages`). Content blocks, in order: `thinking` when the turn has
 * reasoning, `text` when it has text (or calls no tool), then one `tool_use` per tool call. As on
 * the real API, `input_tokens` excludes cache reads: a turn's `inputTokens` is split into
 * `input_tokens` and `cache_read_input_tokens`.
 */
export const anthropicMessagesCodec: ProtocolCodec = {
  protocol: 'anthropic-messages',
  idPrefix: 'msg_fake_',
  body: messageBody,
  frames: messageFrames,
  malformedFrames: (context) => [
    sseFrame(
      {
        type: 'message_start',
        message: message(context, [], null, usage({ inputTokens: 0, outputTokens: 0 }, 0)),
      },
      'message_start',
    ),
    `event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{\n\n`,
  ],
  errorBody: anthropicErrorBody,
  headerProblem: anthropicHeaderProblem,
}

/** The signature every fake thinking block carries (the real one is opaque too). */
export const fakeThinkingSignature = 'fake-thinking-signature'

/** Anthropic's error body, `{ type: 'error', error: { type, message } }` (529 -> `overloaded_error`). */
export function anthropicErrorBody(status: number, message: string): unknown {
  return { type: 'error', error: { type: anthropicErrorType(status), message }, request_id: null }
}

/**
 * Accepts both auth styles in use: `Authorization: Bearer` (sdk 1.x, with `anthropic-version:
 * 2026-10-21`) and `x-api-key` (older clients, with `2023-06-01`); `anthropic-version` is required.
 */
export function anthropicHeaderProblem(headers: Readonly<Record<string, string>>): HeaderProblem | undefined {
  if (!headers['x-api-key'] && !/^Bearer \S/.test(headers.authorization ?? '')) {
    return {
      status: 401,
      message: 'The Anthropic fake expects an `x-api-key` header or `Authorization: Bearer <key>`.',
    }
  }
  if (!headers['anthropic-version']) return { status: 400, message: 'anthropic-version: header is required' }
  return undefined
}

/** A `message` object answering `turn`. */
export function messageBody(turn: ScenarioTurn, context: AnswerContext): unknown {
  return message(context, contentBlocks(turn), stopReason(turn), usage(turn.usage, turn.usage.outputTokens))
}

/**
 * The named events answering `turn`: `message_start` (with usage), `ping`, per block
 * `content_block_start`, deltas (`thinking_delta` then `signature_delta`, `text_delta`,
 * `input_json_delta`), `content_block_stop`, then `message_delta` (stop reason, usage) and
 * `message_stop`.
 */
export function messageFrames(turn: ScenarioTurn, context: AnswerContext): SseScript {
  const script = new SseScriptBuilder()
  const emit = (type: string, fields: Record<string, unknown>) => script.push({ type, ...fields }, type)

  // Like the API, message_start reports the input and a token or so of output; message_delta has the totals.
  emit('message_start', {
    message: message(context, [], null, usage(turn.usage, Math.min(1, turn.usage.outputTokens))),
  })
  emit('ping', {})
  contentBlocks(turn).forEach((block, index) => {
    if (block.type === 'thinking') {
      emit('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } })
      for (const thinking of splitText(String(block.thinking))) {
        emit('content_block_delta', { index, delta: { type: 'thinking_delta', thinking } })
      }
      emit('content_block_delta', {
        index,
        delta: { type: 'signature_delta', signature: fakeThinkingSignature },
      })
    } else if (block.type === 'text') {
      const deltas = splitText(turn.text)
      const cutAt = deltasBeforeCut(deltas.length)
      emit('content_block_start', { index, content_block: { type: 'text', text: '', citations: null } })
      deltas.forEach((text, position) => {
        emit('content_block_delta', { index, delta: { type: 'text_delta', text } })
        if (position + 1 === cutAt) script.markCut()
      })
    } else {
      emit('content_block_start', { index, content_block: { ...block, input: {} } })
      for (const partial_json of splitArguments(argumentsJson(block.input))) {
        emit('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } })
        script.markCut()
      }
    }
    emit('content_block_stop', { index })
  })
  emit('message_delta', {
    delta: { stop_reason: stopReason(turn), stop_sequence: null, stop_details: null },
    usage: deltaUsage(turn.usage),
  })
  emit('message_stop', {})
  return script.build()
}

type ContentBlock = Record<string, unknown> & { type: string }

function contentBlocks(turn: ScenarioTurn): ContentBlock[] {
  const blocks: ContentBlock[] = []
  if (turn.reasoning !== undefined) {
    blocks.push({ type: 'thinking', thinking: turn.reasoning, signature: fakeThinkingSignature })
  }
  if (turn.text !== '' || turn.toolCalls.length === 0)
    blocks.push({ type: 'text', text: turn.text, citations: null })
  for (const call of turn.toolCalls) {
    blocks.push({
      type: 'tool_use',
      id: call.id,
      name: call.name,
      input: call.input ?? {},
      caller: { type: 'direct' },
    })
  }
  return blocks
}

function message(
  context: AnswerContext,
  content: ContentBlock[],
  stop_reason: string | null,
  usage: Record<string, unknown>,
): Record<string, unknown> {
  return {
    id: context.id,
    type: 'message',
    role: 'assistant',
    model: context.model,
    content,
    stop_reason,
    stop_sequence: null,
    stop_details: null,
    container: null,
    usage,
  }
}

function usage(turnUsage: ScenarioUsage, outputTokens: number): Record<string, unknown> {
  return {
    ...deltaUsage(turnUsage),
    output_tokens: outputTokens,
    cache_creation: null,
    service_tier: 'standard',
  }
}

/** The cumulative usage `message_delta` carries. */
function deltaUsage(turnUsage: ScenarioUsage): Record<string, unknown> {
  const { inputTokens, outputTokens, cachedInputTokens = 0, reasoningTokens } = turnUsage
  return {
    input_tokens: Math.max(0, inputTokens - cachedInputTokens),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cachedInputTokens,
    output_tokens: outputTokens,
    output_tokens_details: reasoningTokens === undefined ? null : { thinking_tokens: reasoningTokens },
    server_tool_use: null,
  }
}

function stopReason(turn: ScenarioTurn): 'tool_use' | 'end_turn' {
  return turn.toolCalls.length > 0 ? 'tool_use' : 'end_turn'
}

function anthropicErrorType(status: number): string {
  if (status === 400) return 'invalid_request_error'
  if (status === 401) return 'authentication_error'
  if (status === 402) return 'billing_error'
  if (status === 403) return 'permission_error'
  if (status === 404) return 'not_found_error'
  if (status === 413) return 'request_too_large'
  if (status === 429) return 'rate_limit_error'
  if (status === 504) return 'timeout_error'
  if (status === 529) return 'overloaded_error'
  if (status >= 500) return 'api_error'
  return 'invalid_request_error'
}
