import { type ScenarioPlayer, type ScenarioTurn, waitForTurn } from '@runner/testkit'
import { type TinyModel, TinyModelError, type TinyRequest, type TinyResponse } from './tiny-framework.ts'

/**
 * The conformance driver: a `TinyModel` that plays a test-kit scenario, one turn per model call,
 * answering in the framework's own shapes (`promptTokens`, JSON-string arguments) and failing
 * the way a real provider would (HTTP errors, a hung call, an unreadable answer, a cut stream).
 */
export function scenarioModel(player: ScenarioPlayer): TinyModel {
  return {
    async complete(request) {
      const turn = await play(player, request)
      if (turn.fault?.type === 'cut-stream') throw streamCut()
      return responseOf(turn)
    },
    async *stream(request) {
      const turn = await play(player, request)
      const cut = turn.fault?.type === 'cut-stream'
      const pieces = turn.text.match(/[\s\S]{1,8}/g) ?? []
      for (const text of cut ? pieces.slice(0, Math.ceil(pieces.length / 2)) : pieces) {
        yield { type: 'text', text }
      }
      if (cut) throw streamCut()
      yield { type: 'done', response: responseOf(turn) }
    },
  }
}

/** Takes the next turn, waits its delay and throws its fault (a cut stream needs the text first). */
async function play(player: ScenarioPlayer, request: TinyRequest): Promise<ScenarioTurn> {
  const { signal = new AbortController().signal, ...recorded } = request
  // The player keeps the request and the call's signal: the suite checks both.
  const turn = player.next(recorded, { signal })
  // The scripted delay, and a hung call that only the signal ends.
  await waitForTurn(turn, signal)
  const fault = turn.fault
  if (fault?.type === 'error') throw new TinyModelError(fault.message, { status: fault.status })
  if (fault?.type === 'malformed') {
    try {
      JSON.parse('{"content": "an answer cut in the mid')
    } catch (error) {
      throw new TinyModelError('The model sent an answer that is not valid JSON.', {
        code: 'bad_response',
        cause: error,
      })
    }
  }
  return turn
}

function responseOf(turn: ScenarioTurn): TinyResponse {
  return {
    content: turn.text,
    toolCalls: turn.toolCalls.map((call) => ({
      id: call.id,
      name: call.name,
      arguments: JSON.stringify(call.input),
    })),
    usage: { promptTokens: turn.usage.inputTokens, completionTokens: turn.usage.outputTokens },
  }
}

function streamCut(): TinyModelError {
  return new TinyModelError('The connection closed in the middle of the answer.', {
    code: 'stream_interrupted',
  })
}
