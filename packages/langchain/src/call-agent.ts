import type { StreamEvent } from '@langchain/core/tracers/log_stream'
import type { RunContext } from '@runner/core'
import { raceAbort } from '@runner/core/adapter'
import type { LangChainAgent } from './agent.js'

/** The stream ended before the Runnable's own end event: never a success with a missing output. */
export class StreamEndedEarlyError extends Error {
  override name = 'StreamEndedEarlyError'
  constructor() {
    super('The LangChain event stream ended before the agent finished; its output is incomplete.')
  }
}

/**
 * Calls the agent once: `invoke` when nobody reads the run's stream, `streamEvents` (v2) when
 * somebody does, which makes chat models stream their tokens (the callback handler turns them
 * into deltas). Every LangChain event is passed on as a `native` event (`includeNative`); the
 * output is the `data.output` of the root Runnable's end event (with the `__interrupt__` a graph
 * streamed, as `invoke` returns it). Settles as soon as `signal` aborts, even if the agent
 * ignores it.
 */
export async function callAgent(
  context: RunContext,
  agent: LangChainAgent,
  input: unknown,
  config: Record<string, unknown> & { signal: AbortSignal },
): Promise<unknown> {
  if (!context.streaming)
    return raceAbort(
      Promise.resolve().then(() => agent.invoke(input, config)),
      config.signal,
    )
  return raceAbort(consumeEvents(context, agent, input, config), config.signal)
}

async function consumeEvents(
  context: RunContext,
  agent: LangChainAgent,
  input: unknown,
  config: Record<string, unknown> & { signal: AbortSignal },
): Promise<unknown> {
  const events = await agent.streamEvents(input, { ...config, version: 'v2' })
  let rootRunId: string | undefined
  let output: unknown
  let ended = false
  let interrupts: unknown
  const iterator = events[Symbol.asyncIterator]()
  const stop = () => void iterator.return?.().catch(() => {})
  config.signal.addEventListener('abort', stop, { once: true })
  try {
    for (;;) {
      const next = await iterator.next()
      if (next.done) break
      const event: StreamEvent = next.value
      rootRunId ??= event.run_id
      if (context.includeNative) context.emit({ type: 'native', event })
      if (event.run_id !== rootRunId) continue
      if (event.event.endsWith('_end')) {
        output = event.data.output
        ended = true
      }
      // A graph stopped by interrupt(): invoke returns its state with `__interrupt__`; so does this.
      const chunk = event.data.chunk as { __interrupt__?: unknown } | undefined
      if (event.event === 'on_chain_stream' && chunk?.__interrupt__ !== undefined)
        interrupts = chunk.__interrupt__
    }
  } finally {
    config.signal.removeEventListener('abort', stop)
  }
  if (!ended) throw new StreamEndedEarlyError()
  if (
    interrupts !== undefined &&
    typeof output === 'object' &&
    output !== null &&
    !('__interrupt__' in output)
  ) {
    return { ...output, __interrupt__: interrupts }
  }
  return output
}
