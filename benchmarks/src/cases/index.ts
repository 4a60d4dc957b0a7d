import type { BenchCase } from '../lib/case.ts'

/**
 * Every case, in the order they run and appear in RESULTS.md. Loaded one at a time when it runs,
 * so that `--only` loads only the SDKs it needs (and a profile holds only what it measures).
 */
export const caseLoaders: ReadonlyArray<{ id: string; load: () => Promise<BenchCase> }> = [
  { id: '1-openai', load: async () => (await import('./1-openai.ts')).openaiCase },
  { id: '1-claude', load: async () => (await import('./1-claude.ts')).claudeCase },
  { id: '1-ai-sdk', load: async () => (await import('./1-ai-sdk.ts')).aiSdkCase },
  { id: '1-langchain', load: async () => (await import('./1-langchain.ts')).langchainCase },
  { id: '2-streaming-http', load: async () => (await import('./2-streaming-http.ts')).streamingCase },
  {
    id: '2-streaming-frameworks',
    load: async () => (await import('./2-streaming-frameworks.ts')).streamingFrameworksCase,
  },
  { id: '3-core', load: async () => (await import('./3-core.ts')).coreCase },
  { id: '3-pool-fairness', load: async () => (await import('./3-pool-fairness.ts')).poolFairnessCase },
  { id: '4-stores', load: async () => (await import('./4-stores.ts')).storesCase },
  { id: '5-scale', load: async () => (await import('./5-scale.ts')).scaleCase },
  { id: '6-bullmq', load: async () => (await import('./6-bullmq.ts')).bullmqCase },
  {
    id: '6-bullmq-fairness',
    load: async () => (await import('./6-bullmq-fairness.ts')).bullmqFairnessCase,
  },
  { id: '7-durable', load: async () => (await import('./7-durable.ts')).durableCase },
  { id: '8-enqueue', load: async () => (await import('./8-enqueue.ts')).enqueueCase },
  { id: '9-dashboard', load: async () => (await import('./9-dashboard.ts')).dashboardCase },
]
