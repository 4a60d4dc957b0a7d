/** A LangChain message as far as its id goes (an `AIMessage`, an `AIMessageChunk`, a duplicate install's). */
interface MessageWithId {
  id?: unknown
  lc_kwargs?: { id?: unknown }
  _updateId?: (id: string) => void
}

/** The ids of the messages a model was given. */
export function messageIdsOf(messages: readonly unknown[]): Set<string> {
  const ids = new Set<string>()
  for (const message of messages) {
    const id = (message as MessageWithId | null)?.id
    if (typeof id === 'string') ids.add(id)
  }
  return ids
}

/**
 * Gives a model's answer a new id when it has the id of a message the model was given, and returns
 * the new id (`undefined` when the answer's id was kept). LangGraph's messages reducer
 * (`createAgent`, `MessagesAnnotation`) merges a message into the one with its id: an answer that
 * repeats an earlier message's id replaces that message in the thread instead of being added
 * after it, and the graph ends on what was last before it (a tool's result). Providers give an
 * answer the id of their response, and that id is not always unique in a conversation: another
 * server (a resumed run on another process, a replayed recording) or a server whose ids repeat
 * gives an id the thread holds already. The new id keeps the provider's in front:
 * `<id>-run-<the model call's LangChain run id>`. Changes `answer` in place.
 */
export function keepAnswerIdUnique(
  answer: unknown,
  givenIds: ReadonlySet<string>,
  runId: string,
): string | undefined {
  const message = answer as MessageWithId | null | undefined
  const id = message?.id
  if (!message || typeof id !== 'string' || !givenIds.has(id)) return undefined
  let fresh = `${id}-run-${runId}`
  for (let copy = 2; givenIds.has(fresh); copy++) fresh = `${id}-run-${runId}-${copy}`
  if (typeof message._updateId === 'function') {
    message._updateId(fresh)
  } else {
    // Older @langchain/core: the serialized message (the checkpoint) reads lc_kwargs.
    message.id = fresh
    if (message.lc_kwargs) message.lc_kwargs.id = fresh
  }
  return fresh
}
