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
 * OpenAI Responses (`POST /v1/responses`). Output items, in order: a `reasoning` item with a
 * summary when the turn has reasoning, a `message` when it has text (or calls no tool), then one
 * `function_call` per tool call. Streams carry `sequence_number` from 0 and end with
 * `response.completed`.
 */
export const openaiResponsesCodec: ProtocolCodec = {
  protocol: 'openai-responses',
  idPrefix: 'resp_fake_',
  body: responseBody,
  frames: responseFrames,
  malformedFrames: (context) => [
    sseFrame(
      { type: 'response.created', sequence_number: 0, response: response(context, 'in_progress', [], null) },
      'response.created',
    ),
    `event: response.output_item.added\ndata: {"type":"response.output_item.added","sequence_number":1,"item":{\n\n`,
  ],
  errorBody: openaiErrorBody,
  headerProblem: openaiHeaderProblem,
}

type OutputItem = Record<string, unknown> & { id: string; type: string }

/** A completed `response` object answering `turn`. */
export function responseBody(turn: ScenarioTurn, context: AnswerContext): unknown {
  return response(context, 'completed', outputItems(turn, context), responseUsage(turn))
}

/** The `response.*` events answering `turn`, as named SSE frames. */
export function responseFrames(turn: ScenarioTurn, context: AnswerContext): SseScript {
  const script = new SseScriptBuilder()
  let sequence = 0
  const emit = (type: string, fields: Record<string, unknown>) =>
    script.push({ type, sequence_number: sequence++, ...fields }, type)

  const started = response(context, 'in_progress', [], null)
  emit('response.created', { response: started })
  emit('response.in_progress', { response: started })

  outputItems(turn, context).forEach((item, output_index) => {
    const at = { item_id: item.id, output_index }
    if (item.type === 'reasoning') {
      const text = turn.reasoning ?? ''
      emit('response.output_item.added', { output_index, item: { ...item, summary: [] } })
      emit('response.reasoning_summary_part.added', { ...at, summary_index: 0, part: summaryText('') })
      for (const delta of splitText(text)) {
        emit('response.reasoning_summary_text.delta', { ...at, summary_index: 0, delta })
      }
      emit('response.reasoning_summary_text.done', { ...at, summary_index: 0, text })
      emit('response.reasoning_summary_part.done', { ...at, summary_index: 0, part: summaryText(text) })
    } else if (item.type === 'message') {
      const deltas = splitText(turn.text)
      const cutAt = deltasBeforeCut(deltas.length)
      emit('response.output_item.added', {
        output_index,
        item: { ...item, status: 'in_progress', content: [] },
      })
      emit('response.content_part.added', { ...at, content_index: 0, part: outputText('') })
      deltas.forEach((delta, position) => {
        emit('response.output_text.delta', { ...at, content_index: 0, delta, logprobs: [] })
        if (position + 1 === cutAt) script.markCut()
      })
      emit('response.output_text.done', { ...at, content_index: 0, text: turn.text, logprobs: [] })
      emit('response.content_part.done', { ...at, content_index: 0, part: outputText(turn.text) })
    } else {
      const json = String(item.arguments)
      emit('response.output_item.added', {
        output_index,
        item: { ...item, status: 'in_progress', arguments: '' },
      })
      for (const delta of splitArguments(json)) {
        emit('response.function_call_arguments.delta', { ...at, delta })
        script.markCut()
      }
      emit('response.function_call_arguments.done', { ...at, name: item.name, arguments: json })
    }
    emit('response.output_item.done', { output_index, item })
  })

  emit('response.completed', { response: responseBody(turn, context) })
  return script.build()
}

function outputItems(turn: ScenarioTurn, context: AnswerContext): OutputItem[] {
  const suffix = context.id.slice(openaiResponsesCodec.idPrefix.length)
  const items: OutputItem[] = []
  const itemId = (prefix: string) => `${prefix}_fake_${suffix}_${items.length}`
  if (turn.reasoning !== undefined) {
    items.push({ id: itemId('rs'), type: 'reasoning', summary: [summaryText(turn.reasoning)] })
  }
  if (turn.text !== '' || turn.toolCalls.length === 0) {
    items.push({
      id: itemId('msg'),
      type: 'message',
      status: 'completed',
      role: 'assistant',
      content: [outputText(turn.text)],
    })
  }
  for (const call of turn.toolCalls) {
    items.push({
      id: itemId('fc'),
      type: 'function_call',
      status: 'completed',
      call_id: call.id,
      name: call.name,
      arguments: argumentsJson(call.input),
    })
  }
  return items
}

function response(
  context: AnswerContext,
  status: 'in_progress' | 'completed',
  output: OutputItem[],
  usage: unknown,
): Record<string, unknown> {
  const { body } = context
  return {
    id: context.id,
    object: 'response',
    created_at: context.created,
    status,
    background: false,
    completed_at: status === 'completed' ? context.created : null,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: isRecord(body.metadata) ? body.metadata : {},
    model: context.model,
    output,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: body.tool_choice ?? 'auto',
    tools: Array.isArray(body.tools) ? body.tools : [],
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    usage,
    user: null,
  }
}

function responseUsage(turn: ScenarioTurn): unknown {
  const { inputTokens, outputTokens, cachedInputTokens, reasoningTokens } = turn.usage
  return {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: cachedInputTokens ?? 0 },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: reasoningTokens ?? 0 },
    total_tokens: inputTokens + outputTokens,
  }
}

function outputText(text: string): Record<string, unknown> {
  return { type: 'output_text', text, annotations: [], logprobs: [] }
}

function summaryText(text: string): Record<string, unknown> {
  return { type: 'summary_text', text }
}
