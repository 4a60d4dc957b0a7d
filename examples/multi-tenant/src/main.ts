/**
 * Multi-tenant: two tenants share one pool of research agents on `OpenAIRunner`.
 *
 * - **Fairness.** `acme` enqueues 200 tasks, then `globex` enqueues 5. The task's
 *   `concurrency: { key: tenant, limit: 2 }` (under the pool's `concurrency: 4`) starts globex's
 *   tasks between acme's instead of after them.
 * - **A budget.** Every run has `budget: { maxTokens, onExceeded: 'wrap-up' }`. One of globex's
 *   tasks is scripted to spend more than that in its first call: the run is asked to wrap up,
 *   answers, and its result has `budgetExceeded: true`.
 * - **A rate limit.** One limiter (`createRateLimiter`) is shared by the two tenants' runners: the
 *   model calls of both count against the same limits (generous here, so the example stays fast).
 * - **A daily budget per tenant.** The task's `budget` (a `createSharedBudget` per tenant per day)
 *   is checked before each task and charged by every model call of the runs inside; a tenant over
 *   it would have its next tasks fail with `BudgetExceededError` (here both stay under it). With
 *   `redis`, the same budget holds across processes.
 * - **Cost.** The scripted models are priced (`prices`, a key ending in `*`), so each result has
 *   `usage.costUsd`; the program sums it per tenant.
 *
 * The model is the test kit's protocol fake: a loopback server inside this process that speaks the
 * OpenAI API and plays one scripted scenario per task (no API key, no network).
 *
 *   pnpm --filter @runner/example-multi-tenant start
 *   MULTI_TENANT_THINK_MS=50 pnpm --filter @runner/example-multi-tenant start   # slower model calls
 */

import {
  type CompletedRunResult,
  createActivityTracker,
  createPool,
  defineTool,
  MemoryActivityStore,
} from '@runner/core'
import { createRateLimiter, createSharedBudget } from '@runner/core/adapter'
import { type OpenAIAgent, OpenAIRunner } from '@runner/openai'
import { scenario, startProtocolFake } from '@runner/testkit'
import { z } from 'zod'

const tenants = { acme: 200, globex: 5 } as const
type Tenant = keyof typeof tenants
/** Tokens a run may spend (input + output, all its calls); a normal task here spends 560. */
const maxTokens = 2_000
/** The one globex task scripted to overrun its budget. */
const overrunTopic = 'globex deep dive'
/** How long each scripted model call takes, in ms. */
const thinkMs = Number(process.env.MULTI_TENANT_THINK_MS ?? 5)

const activity = createActivityTracker({ store: new MemoryActivityStore() })
const fake = await startProtocolFake()

// 1. One rate limiter for the account, shared by every runner: the key `openai` limits every model
// the OpenAI runners call (a `provider/model` key would limit one model).
const limits = { requestsPerMinute: 3_000, tokensPerMinute: 2_000_000 }
const rateLimiter = createRateLimiter({ limits: { openai: limits } })

// 2. One runner per tenant (they could differ in model, prices or defaults), sharing the limiter.
const runnerOptions = {
  activity,
  rateLimiter,
  apiKey: 'scripted',
  baseURL: fake.openaiBaseURL,
  maxRetries: 0,
  maxTurns: 6,
  // The scripted models are priced as gpt-4o-mini.
  prices: { 'scripted-*': { inputPerMTokUsd: 0.15, outputPerMTokUsd: 0.6 } },
}
const runners: Record<Tenant, OpenAIRunner> = {
  acme: new OpenAIRunner(runnerOptions),
  globex: new OpenAIRunner(runnerOptions),
}

const agent: Omit<OpenAIAgent, 'model'> = {
  name: 'research',
  instructions: 'You are a careful research assistant. Search, then answer in one sentence.',
  tools: [
    defineTool({
      name: 'search',
      description: 'Searches the web and returns the best links.',
      inputSchema: z.object({ query: z.string().min(1) }),
      execute: async ({ query }) => [`https://example.org/${encodeURIComponent(query)}`],
    }),
  ],
}

// 3. A budget per tenant per day, shared by all of a tenant's tasks (in memory here; give it `redis`
// to share it across processes). A task of a tenant over it fails before it runs.
const daily = createSharedBudget({ name: 'tenant-daily', maxTokens: 150_000, window: 'day' })

// 4. The pool: 4 tasks at once over all tenants, at most 2 per tenant, round-robin between them.
const pool = createPool({ activity, concurrency: 4 })
/** The tenant of each task, in the order the handlers started. */
const starts: Tenant[] = []
let plays = 0
pool.task(
  'research',
  {
    input: z.object({ topic: z.string().min(1) }),
    concurrency: { key: (_input, metadata) => String(metadata.tenant), limit: 2 },
    budget: { shared: daily, key: (_input, metadata) => String(metadata.tenant), onExceeded: 'fail' },
    timeoutMs: 30_000,
  },
  async ({ agentId, input, metadata, signal }) => {
    const tenant = metadata.tenant as Tenant
    starts.push(tenant)
    const { model } = fake.play(researchScenario(input.topic), { model: `scripted-${tenant}-${++plays}` })
    return runners[tenant].run({ ...agent, model }, input.topic, {
      agentId,
      signal,
      budget: { maxTokens, onExceeded: 'wrap-up' },
    })
  },
)

// 5. acme enqueues its 200 tasks first, then globex its 5.
const enqueued: { tenant: Tenant; topic: string; agentId: string }[] = []
for (const [tenant, count] of Object.entries(tenants) as [Tenant, number][]) {
  for (let index = 1; index <= count; index++) {
    const topic = tenant === 'globex' && index === 3 ? overrunTopic : `${tenant} topic ${index}`
    const { agentId } = await pool.enqueue('research', { topic }, { metadata: { tenant } })
    enqueued.push({ tenant, topic, agentId })
  }
}
const total = enqueued.length
console.log(
  `acme enqueued ${tenants.acme} tasks, then globex ${tenants.globex}: pool concurrency 4, at most 2 per tenant.`,
)

const results = await Promise.allSettled(enqueued.map((task) => pool.result(task.agentId)))
await pool.close({ timeoutMs: 5_000 })
await fake.close()

// 6. What happened.
const globexSlots = starts.flatMap((tenant, index) => (tenant === 'globex' ? [index + 1] : []))
console.log(
  `globex's ${globexSlots.length} tasks started at slots ${globexSlots.join(', ')} of ${starts.length} ` +
    '(without per-tenant fairness they would have waited for all of acme’s).',
)

const cost: Record<Tenant, number> = { acme: 0, globex: 0 }
let failed = 0
let calls = 0
results.forEach((settled, index) => {
  const task = enqueued[index] as (typeof enqueued)[number]
  if (settled.status === 'rejected') {
    failed++
    console.log(`✘ ${task.tenant} "${task.topic}": ${String(settled.reason)}`)
    return
  }
  // No tool needs approval here: every run that did not fail completed.
  const result = settled.value as CompletedRunResult
  cost[task.tenant] += result.usage.costUsd ?? 0
  calls += result.turns
  if (result.budgetExceeded)
    console.log(
      `Budget: ${task.tenant} "${task.topic}" spent ${result.usage.totalTokens.toLocaleString('en-US')} ` +
        `of its ${maxTokens.toLocaleString('en-US')} tokens and wrapped up: "${result.text}" (budgetExceeded: true).`,
    )
})

let waited = 0
for (const task of enqueued) {
  const detail = await activity.detail(task.agentId)
  if (detail.log.some((entry) => entry.message.startsWith('Waiting for rate limit'))) waited++
}
console.log(
  `Rate limit shared by both tenants' runners: openai, ${limits.requestsPerMinute.toLocaleString('en-US')} ` +
    `requests and ${limits.tokensPerMinute.toLocaleString('en-US')} tokens per minute; ` +
    `${calls} model calls, ${waited} of ${total} runs waited for a slot.`,
)
for (const tenant of Object.keys(tenants) as Tenant[]) {
  console.log(`Cost: ${tenant} $${cost[tenant].toFixed(6)} for ${tenants[tenant]} tasks.`)
}
for (const tenant of Object.keys(tenants) as Tenant[]) {
  const spent = await daily.spent(tenant)
  console.log(
    `Daily budget ${daily.name}: ${tenant} spent ${spent.tokens.toLocaleString('en-US')} of ` +
      `${(daily.maxTokens ?? 0).toLocaleString('en-US')} tokens today.`,
  )
}
process.exitCode = failed === 0 ? 0 : 1

/**
 * One task's scripted model: a search, then an answer (560 tokens in all). The overrun topic's
 * first call reports 2,600 tokens: over `maxTokens`, so the next call is the wrap-up call, which
 * the script answers with text.
 */
function researchScenario(topic: string) {
  const think = () => thinkMs + Math.round(Math.random() * thinkMs)
  const overrun = topic === overrunTopic
  return scenario()
    .toolCall('search', { query: topic }, { id: 'call_0' })
    .slow(think())
    .usage(overrun ? { inputTokens: 2_400, outputTokens: 200 } : { inputTokens: 200, outputTokens: 20 })
    .text(overrun ? `${topic}: what was found before the budget ran out.` : `${topic}: a one-line answer.`)
    .slow(think())
    .usage({ inputTokens: 300, outputTokens: 40 })
}
