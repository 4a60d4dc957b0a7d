import type { Message } from '@anthropic-ai/sdk/resources/messages'
import type { ToolCallInfo } from '@runner/core'
import type { NextStep } from '@runner/core/adapter'
import { ClaudeStopReasonError } from './errors/claude-stop-reason-error.js'

function maxTokensError(message: Message, maxTokens: number, toolCalls: ReadonlyArray<ToolCallInfo>): Error {
  const tools = [...new Set(toolCalls.map((call) => `"${call.toolName}"`))].join(', ')
  const skipped = tools ? ` Its tool calls (${tools}) were not run: the last one's input may be cut.` : ''
  return new ClaudeStopReasonError(
    `Claude reached maxTokens (${maxTokens}) before finishing its answer (stop_reason "max_tokens").${skipped} ` +
      "Raise the agent's maxTokens (thinking tokens count toward it), or ask for a shorter answer. " +
      'The partial message is on error.response.',
    { stopReason: 'max_tokens', response: message },
  )
}

function refusalError(message: Message): Error {
  const details = message.stop_details
  const category = details?.category ? `, category "${details.category}"` : ''
  const explanation = details?.explanation ? `: ${details.explanation}` : ''
  return new ClaudeStopReasonError(
    `Claude declined to answer (stop_reason "refusal"${category})${explanation}. The run failed instead of ` +
      'returning the declined answer; rephrase the request, or catch ClaudeStopReasonError (error.response is the message).',
    { stopReason: 'refusal', response: message },
  )
}

/**
 * Decides what follows a model call from its stop reason:
 *
 * - `tool_use` (and `end_turn` / `stop_sequence` with tool calls): run the tool calls;
 * - `end_turn`, `stop_sequence`, and any reason on a wrap-up turn that offered no tools: the answer;
 * - `pause_turn` (a long server-side step paused): call again with the message as it is;
 * - `max_tokens`: fail with `ClaudeStopReasonError` telling to raise `maxTokens`, without running
 *   the turn's tool calls (the last one may be cut; the others alone would leave the turn half done);
 * - `refusal`, `model_context_window_exceeded`, a missing or unknown reason: fail with
 *   `ClaudeStopReasonError` (never a half answer returned as success).
 */
export function turnOutcome(
  message: Message,
  options: { maxTokens: number; toolCalls: ReadonlyArray<ToolCallInfo>; wrapUp: boolean },
): NextStep {
  const reason = message.stop_reason
  switch (reason) {
    case 'tool_use':
    case 'end_turn':
    case 'stop_sequence':
      return options.toolCalls.length > 0 && !options.wrapUp ? 'tools' : 'answer'
    case 'pause_turn':
      return 'continue'
    case 'max_tokens':
      throw maxTokensError(message, options.maxTokens, options.toolCalls)
    case 'refusal':
      throw refusalError(message)
    case 'model_context_window_exceeded':
      throw new ClaudeStopReasonError(
        'The conversation no longer fits in the model\'s context window (stop_reason "model_context_window_exceeded"). ' +
          'Shorten the input or the tool outputs, or lower maxTurns.',
        { stopReason: reason, response: message },
      )
    default:
      throw new ClaudeStopReasonError(
        `Claude stopped with stop_reason ${JSON.stringify(reason)}, which this version of @runner/claude cannot ` +
          'tell complete from incomplete, so the run failed rather than return a possibly partial answer. ' +
          'Upgrade @runner/claude; error.response is the message.',
        { stopReason: reason, response: message },
      )
  }
}
