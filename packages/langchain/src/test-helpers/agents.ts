import type { BaseChatModel } from '@langchain/core/language_models/chat_models'
import { END, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph'
import { ToolNode } from '@langchain/langgraph/prebuilt'
import type { AnyToolDefinition } from '@runner/core'
import { createAgent } from 'langchain'
import type { LangChainRunner } from '../langchain-runner.js'
import { toLangChainTool } from './convert-tools.js'

/** The system prompt of the test agents: an assistant told to report its progress. */
export function systemPromptOf(runner: LangChainRunner): string {
  return `You are a research assistant.\n\n${runner.prompts.reportStatus}`
}

/** The agent's tools: the neutral ones as LangChain tools, wrapped, and the runner's report_status. */
export function toolsOf(runner: LangChainRunner, tools: AnyToolDefinition[]) {
  return [...runner.wrapTools(tools.map(toLangChainTool)), runner.tools.reportStatus]
}

/** A `createAgent` agent on `model` with the runner's tools. */
export function researchAgent(runner: LangChainRunner, model: BaseChatModel, tools: AnyToolDefinition[]) {
  return createAgent({ model, tools: toolsOf(runner, tools), systemPrompt: systemPromptOf(runner) })
}

/**
 * A hand-built LangGraph agent: a model node (the model with the tools bound) and a prebuilt
 * `ToolNode`, on `MessagesAnnotation`, looping until the model answers without tool calls.
 */
export function researchGraph(runner: LangChainRunner, model: BaseChatModel, tools: AnyToolDefinition[]) {
  const graphTools = toolsOf(runner, tools)
  const modelWithTools = model.bindTools!(graphTools)
  return new StateGraph(MessagesAnnotation)
    .addNode('agent', async (state: typeof MessagesAnnotation.State) => ({
      messages: [await modelWithTools.invoke(state.messages)],
    }))
    .addNode('tools', new ToolNode(graphTools))
    .addEdge(START, 'agent')
    .addConditionalEdges('agent', (state: typeof MessagesAnnotation.State) => {
      const last = state.messages.at(-1) as { tool_calls?: unknown[] } | undefined
      return last?.tool_calls?.length ? 'tools' : END
    })
    .addEdge('tools', 'agent')
    .compile()
}
