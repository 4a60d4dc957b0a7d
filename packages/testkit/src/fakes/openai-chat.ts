import type { ScenarioTurn } from '../scenario/scenario.js'
import { openaiErrorBody, openaiHeaderProblem } from './openai-error.js'
import { type AnswerContext, argumentsJson, isRecord, type ProtocolCodec } from './protocol-codec.js'
import {
  deltasBeforeCut,
  type SseScript,
  SseScriptBuilder,
  splitArguments,
  splitText,
  sseFrame,
} from './sse.js'

/**
 * OpenAI Chat Completions (`POST /v1/chat/completions`). Reasoning text has no place in this API,
 * so a turn's `reasoning` is not sent; its `reasoningTokens` are, in `completion_tokens_details`.
 */
export const openaiChatCodec: ProtocolCodec = {
  protocol: 'openai-chat',
  idPrefix: 'chatcmpl-fake-',
  body: chatCompletionBody,
  frames: chatCompletionFrames,
  malformedFrames: (context) => [
    sseFrame(chunk(context, [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }])),
    sseFrame(
      `{"id":"${context.id}","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":`,
    ),
    sseFrame('[DONE]'),
  ],
  errorBody: openaiErrorBody,
  headerProblem: openaiHeaderProblem,
}

/** A `chat.completion` object answering `turn`. */
export function chatCompletionBody(turn: ScenarioTurn, context: AnswerContext): unknown {
  return {
    id: context.id,
    object: 'chat.completion',
    created: context.created,
    model: context.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: turn.text === '' && turn.toolCalls.length > 0 ? null : turn.text,
          refusal: null,
          annotations: [],
          ...(turn.toolCalls.length > 0
            ? {
                tool_calls: turn.toolCalls.map((call) => ({
                  id: call.id,
                  type: 'function',
                  function: { name: call.name, arguments: argumentsJson(call.input) },
                })),
              }
            : {}),
        },
        logprobs: null,
        finish_reason: finishReason(turn),
      },
    ],
    usage: chatUsage(turn),
    service_tier: 'default',
    system_fingerprint: 'fp_fake',
  }
}

/**
 * `chat.completion.chunk` frames answering `turn`: a role chunk, the text in small deltas, each tool
 * call as a first delta `{ index, id, type, function: { name, arguments: '' } }` then its arguments
 * in pieces, a chunk with `finish_reason`, a usage chunk (`choices: []`) when the request asked for
 * `stream_options.include_usage`, and `data: [DONE]`.
 */
export function chatCompletionFrames(turn: ScenarioTurn, context: AnswerContext): SseScript {
  const script = new SseScriptBuilder()
  const includeUsage =
    isRecord(context.body.stream_options) && context.body.stream_options.include_usage === true
  const push = (choices: unknown[], usage?: unknown) =>
    script.push({ ...chunk(context, choices), ...(includeUsage ? { usage: usage ?? null } : {}) })

  push([
    {
      index: 0,
      delta: { role: 'assistant', content: '', refusal: null },
      logprobs: null,
      finish_reason: null,
    },
  ])
  const deltas = splitText(turn.text)
  const cutAt = deltasBeforeCut(deltas.length)
  deltas.forEach((text, position) => {
    push([{ index: 0, delta: { content: text }, logprobs: null, finish_reason: null }])
    if (position + 1 === cutAt) script.markCut()
  })
  turn.toolCalls.forEach((call, index) => {
    push([
      {
        index: 0,
        delta: {
          tool_calls: [
            { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } },
          ],
        },
        logprobs: null,
        finish_reason: null,
      },
    ])
    for (const piece of splitArguments(argumentsJson(call.input))) {
      push([
        {
          index: 0,
          delta: { tool_calls: [{ index, function: { arguments: piece } }] },
          logprobs: null,
          finish_reason: null,
        },
      ])
      script.markCut()
    }
  })
  push([{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason(turn) }])
  if (includeUsage) push([], chatUsage(turn))
  script.push('[DONE]')
  return script.build()
}

function chunk(context: AnswerContext, choices: unknown[]): Record<string, unknown> {
  return {
    id: context.id,
    object: 'chat.completion.chunk',
    created: context.created,
    model: context.model,
    service_tier: 'default',
    system_fingerprint: 'fp_fake',
    choices,
  }
}

function finishReason(turn: ScenarioTurn): 'tool_calls' | 'stop' {
  return turn.toolCalls.length > 0 ? 'tool_calls' : 'stop'
}

function chatUsage(turn: ScenarioTurn): unknown {
  const { inputTokens, outputTokens, cachedInputTokens, reasoningTokens } = turn.usage
  return {
    prompt_tokens: inputTokens,
    completion_tokens: outputTokens,
    total_tokens: inputTokens + outputTokens,
    ...(cachedInputTokens === undefined
      ? {}
      : { prompt_tokens_details: { cached_tokens: cachedInputTokens } }),
    ...(reasoningTokens === undefined
      ? {}
      : { completion_tokens_details: { reasoning_tokens: reasoningTokens } }),
  }
}
