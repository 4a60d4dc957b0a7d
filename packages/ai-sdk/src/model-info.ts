/**
 * The model and provider of an AI SDK model call, for the model hooks, the trajectory and the
 * call's cost. The AI SDK names a provider by its package and API (`openai.chat`,
 * `anthropic.messages`, `google.vertex.chat`, `amazon-bedrock`); the runner reports the
 * OpenTelemetry GenAI `gen_ai.provider.name` of it, or the AI SDK's first segment when none fits
 * (`ollama`, `fireworks`...). A model given as a string (`'openai/gpt-4o'`, the gateway's form)
 * is split at its first `/`.
 */

/** GenAI provider names by the first segment of the AI SDK's provider id (those that differ). */
const providers: Readonly<Record<string, string>> = {
  azure: 'azure.ai.openai',
  'azure-openai': 'azure.ai.openai',
  'amazon-bedrock': 'aws.bedrock',
  bedrock: 'aws.bedrock',
  google: 'gcp.gemini',
  'google-vertex': 'gcp.vertex_ai',
  vertex: 'gcp.vertex_ai',
  mistral: 'mistral_ai',
  xai: 'x_ai',
  watsonx: 'ibm.watsonx.ai',
}

/** The GenAI provider name of an AI SDK provider id (`openai.chat` -> `openai`). */
export function genAIProvider(provider: unknown): string | undefined {
  if (typeof provider !== 'string' || provider === '') return undefined
  const id = provider.toLowerCase()
  if (id.startsWith('google.vertex')) return 'gcp.vertex_ai'
  const first = id.split('.')[0] as string
  return providers[first] ?? first
}

/** The model id and provider of a step's model (a model object, or a `provider/model` string). */
export function callModelOf(model: unknown): { model?: string; provider?: string } {
  if (typeof model === 'string') {
    const slash = model.indexOf('/')
    if (slash <= 0) return model ? { model } : {}
    const provider = genAIProvider(model.slice(0, slash))
    return { model: model.slice(slash + 1), ...(provider ? { provider } : {}) }
  }
  const { provider, modelId } = (model ?? {}) as { provider?: unknown; modelId?: unknown }
  const called: { model?: string; provider?: string } = {}
  if (typeof modelId === 'string' && modelId !== '') called.model = modelId
  const name = genAIProvider(provider)
  if (name) called.provider = name
  return called
}
