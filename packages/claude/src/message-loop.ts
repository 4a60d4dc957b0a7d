import type { Anthropic } from '@anthropic-ai/sdk'
import type {
  ContentBlockParam,
  Message,
  MessageCreateParamsBase,
  MessageParam,
  ToolResultBlockParam,
} from '@anthropic-ai/sdk/resources/messages'
import type { ExecuteResult, RunContext, ToolCallInfo } from '@runner/core'
import { runToolCalls, type ToolCallOutcome, toolOutputText } from '@runner/core/adapter'
import { buildRequest } from './build-request.js'
import { createMessage } from './create-message.js'
import { mapUsage } from './map-usage.js'
import type { ResolvedAgent } from './resolve-agent.js'
import { turnOutcome } from './stop-reason.js'
import { streamMessage } from './stream-message.js'
import type { ClaudeOutput } from './types.js'

/** What one attempt's loop needs. */
export interface LoopParts {
  client: Anthropic
  context: RunContext
  agent: ResolvedAgent
  /** The conversation to start from; the loop appends to it. */
  messages: MessageParam[]
  reportStatusPrompt: boolean
}

/**
 * One model call: the SDK's message stream when somebody reads the deltas, `messages.create`
 * otherwise (streamed internally, without deltas, when `maxTokens` is too large for a
 * non-streamed call).
 */
async function callModel(
  client: Anthropic,
  body: MessageCreateParamsBase,
  context: RunContext,
): Promise<{ message: Message; toolInputs?: ReadonlyMap<string, unknown> }> {
  if (!context.streaming) {
    const message = await createMessage(client, body, context)
    if (message) return { message }
  }
  return streamMessage(client, body, context, { emitEvents: context.streaming })
}

function textOf(message: Message): string {
  return message.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('')
}

function toolCallsOf(message: Message, inputs: ReadonlyMap<string, unknown> | undefined): ToolCallInfo[] {
  return message.content.flatMap((block) =>
    block.type === 'tool_use'
      ? [
          {
            toolCallId: block.id,
            toolName: block.name,
            input: inputs?.has(block.id) ? inputs.get(block.id) : block.input,
          },
        ]
      : [],
  )
}

/** The message as the next request's assistant turn; empty text blocks, which the API refuses, left out. */
function assistantTurn(message: Message): MessageParam | undefined {
  const content = message.content.filter((block) => !(block.type === 'text' && block.text === ''))
  if (content.length === 0) return undefined
  return { role: 'assistant', content: content as ContentBlockParam[] }
}

/** A tool's outcome as a `tool_result` block; failures (thrown, denied, invalid input) carry `is_error`. */
function toolResult(outcome: ToolCallOutcome): ToolResultBlockParam {
  const text = toolOutputText(outcome.output)
  return {
    type: 'tool_result',
    tool_use_id: outcome.toolCallId,
    ...(text === '' ? {} : { content: text }),
    ...(outcome.isError ? { is_error: true } : {}),
  }
}

/**
 * The tool loop of one attempt: per turn `startTurn`, the model hooks around one call, usage, then
 * the stop reason decides (see `turnOutcome`): the turn's tool calls run in parallel
 * (`runToolCalls`: events, hooks, validation, errors as results) and go back in one user message
 * of `tool_result` blocks; `pause_turn` calls again; `end_turn` returns. On the wrap-up turns of
 * `maxTurnsRecovery` the prompt asks for a final answer as a user message and no tools are offered.
 */
export async function runMessageLoop(parts: LoopParts): Promise<ExecuteResult<ClaudeOutput>> {
  const { client, context, agent } = parts
  const conversation = parts.messages
  // The answer's text: the text of every message since the last tool results (pause_turn continues one).
  let answer = ''
  let wrapUpSent = false
  for (;;) {
    const { wrapUp } = await context.startTurn()
    if (wrapUp && !wrapUpSent) {
      conversation.push({ role: 'user', content: context.prompts.wrapUp })
      wrapUpSent = true
      answer = ''
    }
    const body = buildRequest({
      agent,
      messages: conversation,
      wrapUp,
      prompts: context.prompts,
      reportStatusPrompt: parts.reportStatusPrompt,
    })
    await context.hooks.modelCallStart({ request: body })
    const { message, toolInputs } = await callModel(client, body, context)
    const usage = mapUsage(message.usage)
    context.addUsage(usage)
    const text = textOf(message)
    answer += text
    const toolCalls = wrapUp ? [] : toolCallsOf(message, toolInputs)
    await context.hooks.modelCallEnd({ response: message, text, toolCalls, usage })
    const outcome = turnOutcome(message, { maxTokens: agent.maxTokens, toolCalls, wrapUp })

    const turn = assistantTurn(message)
    if (turn) conversation.push(turn)
    if (outcome === 'answer') {
      return { output: { message, messages: conversation, stopReason: message.stop_reason }, text: answer }
    }
    if (outcome === 'tools') {
      const outcomes = await runToolCalls(context, agent.tools, toolCalls)
      conversation.push({ role: 'user', content: outcomes.map(toolResult) })
      answer = ''
    }
    context.endTurn()
  }
}
