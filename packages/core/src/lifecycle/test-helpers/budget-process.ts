/**
 * Child process of the shared budget tests: runs `ScriptedRunner` runs one after another, each of
 * up to 5 tool turns of 1,000 tokens per model call, all under one shared budget in Redis
 * (`argv[2]`: the Redis URL, `argv[3]`: the key prefix, `argv[4]`: the budget's maxTokens), key
 * `acme`, until a run stops on the budget. Prints one JSON line: `{ calls, stoppedBy }`, the model
 * calls this process made and the name of the budget that stopped it. Prints `ready` first, and
 * starts once its stdin gets a line (so that the test starts every process at once).
 *
 * Node runs this file with type stripping; it loads the package as built (`dist/`, which the
 * test command builds first), as an application would.
 */

const { Redis } = await import('ioredis')
const { z } = await import('zod')
const { createSharedBudget } = await import('../../../dist/lifecycle/shared-budget.js')
const { BudgetExceededError } = await import('../../../dist/errors/budget-exceeded-error.js')
const { ScriptedModel, ScriptedRunner } = await import('../../../dist/test/scripted-runner.js')
const { defineTool } = await import('../../../dist/tools/define-tool.js')

const [url, keyPrefix, maxTokens] = process.argv.slice(2)
if (!url || !keyPrefix || !maxTokens)
  throw new Error('usage: budget-process.ts <redis url> <key prefix> <maxTokens>')

const redis = new Redis(url)
const budget = createSharedBudget({
  name: 'tenant-daily',
  maxTokens: Number(maxTokens),
  window: 'day',
  redis,
  keyPrefix,
})
const search = defineTool({
  name: 'search',
  description: 'Searches',
  inputSchema: z.object({ query: z.string() }),
  execute: async ({ query }) => `results for ${query}`,
})
const runner = new ScriptedRunner({ budget: { shared: { budget, key: 'acme' } }, retry: { attempts: 1 } })
process.stdout.write('ready\n')
await new Promise((resolve) => process.stdin.once('data', resolve))
process.stdin.pause()
let calls = 0
let stoppedBy: string | undefined
for (let run = 0; run < 1000 && stoppedBy === undefined; run++) {
  const steps = []
  for (let turn = 0; turn < 4; turn++)
    steps.push({
      toolCalls: [{ name: 'search', input: { query: `q${turn}` } }],
      usage: { inputTokens: 900, outputTokens: 100, totalTokens: 1000 },
      delayMs: 1 + Math.floor(Math.random() * 4),
    })
  steps.push({ text: 'done', usage: { inputTokens: 900, outputTokens: 100, totalTokens: 1000 } })
  const model = new ScriptedModel(steps)
  try {
    await runner.run({ model, tools: [search] }, 'research')
  } catch (error) {
    if (!BudgetExceededError.isInstance(error)) throw error
    stoppedBy = error.shared?.name
  } finally {
    calls += model.calls.length
  }
}
process.stdout.write(`${JSON.stringify({ calls, stoppedBy })}\n`)
await redis.quit()
