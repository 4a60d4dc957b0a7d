/**
 * LangGraph's errors recognised by shape, so that this package needs no dependency on
 * `@langchain/langgraph` (and works with any copy of it).
 */

/** `GraphRecursionError`: the graph ran `recursionLimit` super-steps without reaching its end. */
export function isGraphRecursionError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const { name, lc_error_code: code } = error as { name?: unknown; lc_error_code?: unknown }
  return name === 'GraphRecursionError' || code === 'GRAPH_RECURSION_LIMIT'
}

/**
 * `GraphBubbleUp` and its subclasses (`GraphInterrupt` from `interrupt()`, `ParentCommand`):
 * LangGraph's control flow, which must travel up untouched, never become a tool's error result.
 */
export function isGraphBubbleUp(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && (error as { is_bubble_up?: unknown }).is_bubble_up === true
  )
}
