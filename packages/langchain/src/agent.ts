import type { StreamEvent } from '@langchain/core/tracers/log_stream'

/**
 * What `LangChainRunner` runs: any LangChain Runnable (a compiled LangGraph graph, a chain such
 * as `prompt.pipe(model)`, a chat model) or a `createAgent` agent from `langchain` (a
 * `ReactAgent`, which has the same `invoke` / `streamEvents` but is not a `Runnable` subclass).
 * The runner calls `invoke(input, config)` for `run()` and `streamEvents(input, { ...config,
 * version: 'v2' })` when the run is streamed. Per-run LangChain config (a checkpointer's
 * `thread_id`, a graph's `context`) goes on the agent: `agent.withConfig({ configurable })`.
 */
export interface LangChainAgent {
  // biome-ignore lint/suspicious/noExplicitAny: every Runnable's own input type is accepted
  invoke(input: any, config?: any): Promise<unknown>
  // biome-ignore lint/suspicious/noExplicitAny: every Runnable's own input type is accepted
  streamEvents(input: any, config: any): AsyncIterable<StreamEvent> | Promise<AsyncIterable<StreamEvent>>
}

/**
 * The input of a run: a string (the user's message, see `toRunnableInput` for what each kind of
 * Runnable receives) or the Runnable's own input (`{ messages }`, a prompt's variables, a
 * `Command` to resume an interrupted graph...), passed through unchanged.
 */
export type LangChainInput = string | object

/**
 * The Runnable's own result: a graph's final state (`{ messages, ...}` for `createAgent`), an
 * `AIMessage` (a chain ending with a chat model; an `AIMessageChunk` when the run was streamed),
 * a string (a chain ending with `StringOutputParser`)... After a `maxTurnsRecovery` wrap-up it is
 * `{ messages }`: the conversation the model last saw, the wrap-up prompt and the answer.
 */
export type LangChainOutput = unknown

/** The parts of a `createAgent` agent (`ReactAgent` of `langchain` 1.x) the runner reads. */
export interface CreateAgentLike {
  options: {
    model?: unknown
    name?: string
    systemPrompt?: unknown
    middleware?: ReadonlyArray<
      Partial<Record<'beforeAgent' | 'beforeModel' | 'afterModel' | 'afterAgent', unknown>>
    >
  }
  graph: unknown
}

/** Whether `agent` is a `createAgent` agent (checked by shape: it works across duplicate installs). */
export function isCreateAgent(agent: unknown): agent is CreateAgentLike {
  if (typeof agent !== 'object' || agent === null) return false
  const candidate = agent as Partial<CreateAgentLike>
  return (
    typeof candidate.options === 'object' &&
    candidate.options !== null &&
    'model' in candidate.options &&
    typeof candidate.graph === 'object' &&
    candidate.graph !== null
  )
}

/** Whether `agent` can be run at all: it has `invoke` and `streamEvents`. */
export function isRunnableAgent(agent: unknown): agent is LangChainAgent {
  if ((typeof agent !== 'object' && typeof agent !== 'function') || agent === null) return false
  const candidate = agent as Partial<LangChainAgent>
  return typeof candidate.invoke === 'function' && typeof candidate.streamEvents === 'function'
}

/**
 * The name an agent gives itself: `createAgent({ name })`, or a graph compiled with a name
 * (`compile({ name })`, other than LangGraph's default `LangGraph`), or `runnable.withConfig({
 * runName })`. `undefined` when it has none.
 */
export function agentNameOf(agent: LangChainAgent): string | undefined {
  const named = (value: unknown) =>
    typeof value === 'string' && value.trim() !== '' && value !== 'LangGraph' ? value : undefined
  if (isCreateAgent(agent)) return named(agent.options.name)
  const runnable = agent as { name?: unknown; config?: { runName?: unknown } }
  return named(runnable.config?.runName) ?? named(runnable.name)
}
