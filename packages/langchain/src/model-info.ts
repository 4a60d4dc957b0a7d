import type { Serialized } from '@langchain/core/load/serializable'

/**
 * The model and provider of a LangChain chat model call, for the model hooks, the trajectory and
 * the call's cost. The provider is the OpenTelemetry GenAI `gen_ai.provider.name` of the model's
 * integration, read from LangChain's own `ls_provider` (set by every chat model) or the class the
 * call was serialized from; one without a GenAI name is reported by LangChain's name lower-cased
 * (`ollama`, `fireworks`...).
 */

/** GenAI provider names of LangChain's `ls_provider` values (those that differ). */
const lsProviders: Readonly<Record<string, string>> = {
  azure: 'azure.ai.openai',
  azure_openai: 'azure.ai.openai',
  azureopenai: 'azure.ai.openai',
  amazon_bedrock: 'aws.bedrock',
  bedrock: 'aws.bedrock',
  bedrockconverse: 'aws.bedrock',
  google_genai: 'gcp.gemini',
  googlegenerativeai: 'gcp.gemini',
  google_vertexai: 'gcp.vertex_ai',
  vertexai: 'gcp.vertex_ai',
  mistral: 'mistral_ai',
  mistralai: 'mistral_ai',
  xai: 'x_ai',
  watsonx: 'ibm.watsonx.ai',
  ibm: 'ibm.watsonx.ai',
}

/** GenAI provider names of LangChain's chat model classes. */
const classProviders: Readonly<Record<string, string>> = {
  ChatOpenAI: 'openai',
  AzureChatOpenAI: 'azure.ai.openai',
  ChatAnthropic: 'anthropic',
  ChatBedrockConverse: 'aws.bedrock',
  BedrockChat: 'aws.bedrock',
  ChatGoogleGenerativeAI: 'gcp.gemini',
  ChatVertexAI: 'gcp.vertex_ai',
  ChatMistralAI: 'mistral_ai',
  ChatGroq: 'groq',
  ChatDeepSeek: 'deepseek',
  ChatXAI: 'x_ai',
  ChatCohere: 'cohere',
  ChatPerplexity: 'perplexity',
  ChatWatsonx: 'ibm.watsonx.ai',
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined

/** The provider of a call: its `ls_provider`, else the serialized class (`lc` id). */
export function providerOf(llm: Serialized | undefined, metadata: Record<string, unknown> | undefined) {
  const ls = text(metadata?.ls_provider)?.toLowerCase()
  if (ls) return lsProviders[ls] ?? ls
  const id = (llm as { id?: unknown } | undefined)?.id
  const name = Array.isArray(id) ? text(id.at(-1)) : undefined
  if (!name) return undefined
  return classProviders[name] ?? name.replace(/^Chat/, '').toLowerCase()
}

/** The model a call asks for: LangChain's `ls_model_name`, else the invocation parameters'. */
export function requestedModelOf(
  metadata: Record<string, unknown> | undefined,
  extraParams: Record<string, unknown> | undefined,
): string | undefined {
  const params = extraParams?.invocation_params as Record<string, unknown> | undefined
  return (
    text(metadata?.ls_model_name) ??
    text(params?.model) ??
    text(params?.model_name) ??
    text(params?.modelName) ??
    text(params?.modelId) ??
    text(params?.model_id)
  )
}

/**
 * The model that answered and why it stopped, from the answer's `response_metadata`
 * (`model_name` and `finish_reason` of OpenAI, `model` and `stop_reason` of Anthropic), its
 * `additional_kwargs` (a streamed Anthropic answer) or the generation's info.
 */
export function answerInfoOf(
  message: unknown,
  generationInfo: Record<string, unknown> | undefined,
): { model?: string; finishReasons?: string[] } {
  const { response_metadata: metadata, additional_kwargs: kwargs } = (message ?? {}) as {
    response_metadata?: Record<string, unknown>
    additional_kwargs?: Record<string, unknown>
  }
  const info: { model?: string; finishReasons?: string[] } = {}
  const model = text(metadata?.model_name) ?? text(metadata?.model) ?? text(kwargs?.model)
  if (model) info.model = model
  // A streamed Anthropic answer keeps its message's fields (stop_reason, model) in additional_kwargs.
  const reason =
    text(metadata?.finish_reason) ??
    text(metadata?.stop_reason) ??
    text(kwargs?.stop_reason) ??
    text(generationInfo?.finish_reason) ??
    text(generationInfo?.stop_reason)
  if (reason) info.finishReasons = [reason]
  return info
}
