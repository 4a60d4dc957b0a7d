import { HumanMessage } from '@langchain/core/messages'
import { InvalidOptionsError } from '@runner/core'
import type { LangChainAgent, LangChainInput } from './agent.js'

/** The Runnable inside bindings (`model.bindTools(...)`, `runnable.withConfig(...)`). */
function unwrapBindings(runnable: unknown): unknown {
  let current = runnable
  for (let depth = 0; depth < 10; depth++) {
    const bound = (current as { bound?: unknown } | null)?.bound
    if (typeof bound !== 'object' || bound === null) return current
    current = bound
  }
  return current
}

export function isChatModel(runnable: unknown): boolean {
  const model = unwrapBindings(runnable) as { _modelType?: () => unknown } | null
  return typeof model?._modelType === 'function' && model._modelType() === 'base_chat_model'
}

/** The variables of the prompt template a Runnable starts with (itself, or a chain's first step). */
function promptVariablesOf(runnable: unknown): string[] | undefined {
  const start = unwrapBindings(runnable) as { inputVariables?: unknown; first?: unknown } | null
  const candidate = (Array.isArray(start?.inputVariables) ? start : unwrapBindings(start?.first)) as {
    inputVariables?: unknown
  } | null
  const variables = candidate?.inputVariables
  return Array.isArray(variables) && variables.every((name) => typeof name === 'string')
    ? variables
    : undefined
}

function refuse(message: string): never {
  throw new InvalidOptionsError([{ field: 'input', message }], { subject: 'run input' })
}

/**
 * What the agent receives for a run's input. Anything but a string is the Runnable's own input,
 * passed on unchanged. A string is the user's message:
 * - a chat model (bare, or with tools bound) gets the string itself;
 * - a chain that starts with a prompt template gets `{ messages: [HumanMessage] }` when the
 *   prompt has a `messages` variable (a `MessagesPlaceholder`), or `{ <variable>: text }` when it
 *   has exactly one variable; a prompt with none or several refuses it (`InvalidOptionsError`:
 *   pass the variables as an object);
 * - anything else (a `createAgent` agent, a graph on `MessagesAnnotation`, other chains) gets
 *   `{ messages: [new HumanMessage(text)] }`.
 */
export function toRunnableInput(agent: LangChainAgent, input: LangChainInput): unknown {
  if (input === undefined || input === null) refuse('is required: a string or the agent’s own input')
  if (typeof input !== 'string') return input
  if (input.trim() === '') refuse('must not be an empty string')
  if (isChatModel(agent)) return input
  const variables = promptVariablesOf(agent)
  if (variables && !variables.includes('messages')) {
    if (variables.length === 1) return { [variables[0] as string]: input }
    refuse(
      variables.length === 0
        ? 'this chain’s prompt takes no variables, so a string has nowhere to go: pass {} (or give the prompt a variable)'
        : `this chain’s prompt takes ${variables.map((name) => `{${name}}`).join(', ')}: pass them as an object`,
    )
  }
  return { messages: [new HumanMessage(input)] }
}
