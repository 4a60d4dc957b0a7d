/**
 * A scripted in-process "model": no API key, no network. Given the conversation so far it
 * answers like a small research agent would: report progress, search, take notes, answer.
 * Replace it with a real model through one of the adapters (`@runner/openai`, ...).
 */

/** A tool call the model asks for. */
export interface ModelToolCall {
  id: string
  name: string
  input: Record<string, unknown>
}

/** One model answer: text, or tool calls, and the tokens it cost. */
export interface ModelTurn {
  text: string
  toolCalls: ModelToolCall[]
  usage: { inputTokens: number; outputTokens: number }
}

/** What the model is given on each call. */
export interface ModelRequest {
  instructions: string
  topic: string
  /** Results of the tools called so far, oldest first. */
  toolResults: Array<{ name: string; output: string }>
  /** Tool names the model may call; empty when it must answer now. */
  toolNames: string[]
}

/** Thinking time per call, so the progress bars have something to show. */
const thinkMs = Number(process.env.QUICKSTART_THINK_MS ?? 120)

export async function scriptedModel(request: ModelRequest, signal: AbortSignal): Promise<ModelTurn> {
  await sleep(thinkMs + Math.round(Math.random() * thinkMs), signal)
  const step = request.toolResults.filter((result) => result.name !== 'report_status').length
  const usage = { inputTokens: 200 + 80 * request.toolResults.length, outputTokens: 30 }
  const call = (name: string, input: Record<string, unknown>): ModelTurn => ({
    text: '',
    toolCalls: [{ id: `call_${request.toolResults.length + 1}`, name, input }],
    usage,
  })
  const lastReport = request.toolResults.at(-1)?.name === 'report_status'
  if (request.toolNames.length > 0 && step < 3) {
    if (!lastReport) {
      const plan = ['Searching for sources', 'Reading the best source', 'Writing notes']
      return call('report_status', {
        message: `${plan[step]} on ${request.topic}`,
        percentage: 10 + step * 30,
      })
    }
    if (step === 0) return call('search', { query: request.topic })
    if (step === 1) return call('read', { url: `https://example.org/${encodeURIComponent(request.topic)}` })
    return call('note', { text: `Key facts about ${request.topic}` })
  }
  const sources = request.toolResults.filter((result) => result.name === 'search').length
  return {
    text: `${request.topic}: a short summary built from ${sources} search and ${step} steps of research.`,
    toolCalls: [],
    usage: { ...usage, outputTokens: 120 },
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        reject(signal.reason)
      },
      { once: true },
    )
  })
}
