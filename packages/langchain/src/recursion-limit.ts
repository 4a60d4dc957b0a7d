import { type CreateAgentLike, isCreateAgent, type LangChainAgent } from './agent.js'

/** Super-steps of a plain tool-calling graph per model turn: the model node, then the tools node. */
export const DEFAULT_STEPS_PER_TURN = 2

function hookCount(
  agent: CreateAgentLike,
  hook: 'beforeAgent' | 'beforeModel' | 'afterModel' | 'afterAgent',
) {
  return (agent.options.middleware ?? []).filter((middleware) => Boolean(middleware?.[hook])).length
}

/**
 * LangGraph super-steps per model turn: the runner's `stepsPerTurn` when set; for a `createAgent`
 * agent, 2 (model node, tools node) plus one per `beforeModel` / `afterModel` middleware hook
 * (each is a node of its own); for anything else 2 (a model node and a `ToolNode`).
 */
export function stepsPerTurnOf(agent: LangChainAgent, configured: number | undefined): number {
  if (configured !== undefined) return configured
  if (!isCreateAgent(agent)) return DEFAULT_STEPS_PER_TURN
  return DEFAULT_STEPS_PER_TURN + hookCount(agent, 'beforeModel') + hookCount(agent, 'afterModel')
}

/**
 * The `recursionLimit` a run passes to LangGraph for `maxTurns`:
 * `stepsPerTurn × (maxTurns + 1) + agentHooks`, where `agentHooks` counts a `createAgent`
 * agent's `beforeAgent` / `afterAgent` middleware hooks (nodes that run once per run).
 *
 * The runner counts model calls itself and stops the graph when it is about to make call
 * `maxTurns + 1` (`MaxTurnsExceededError`, or the wrap-up of `maxTurnsRecovery`). The extra turn
 * in the limit lets the graph get that far; the limit itself only fires first in a graph that
 * takes more super-steps per model call than `stepsPerTurn`, or that loops without calling a
 * model, and then also ends in `MaxTurnsExceededError`.
 */
export function recursionLimitFor(agent: LangChainAgent, maxTurns: number, stepsPerTurn: number): number {
  const agentHooks = isCreateAgent(agent)
    ? hookCount(agent, 'beforeAgent') + hookCount(agent, 'afterAgent')
    : 0
  return stepsPerTurn * (maxTurns + 1) + agentHooks
}
