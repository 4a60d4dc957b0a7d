/**
 * Child process of the SIGKILL test: on schema `argv[2]`, `argv[3]` concurrent writers each create
 * activities and append to them through the batched write path, forever, printing a line once each
 * call has resolved: `created <agentId>`, `appended <agentId> <step>`, `completed <agentId>`. The
 * parent kills it with SIGKILL in the middle (stdout to a pipe is synchronous on Linux: a printed
 * line was written before the next call).
 */
// Registers the .js -> .ts resolve hook before the sources load (a computed URL: tsc leaves it alone).
await import(new URL('./load-source.ts', import.meta.url).href)

const { PostgresActivityStore } = await import('../index.js')

const [schema, writersText] = process.argv.slice(2)
const writers = Number(writersText)
if (!schema || !Number.isInteger(writers)) throw new Error('usage: kill-child.ts <schema> <writers>')

const store = new PostgresActivityStore({ connectionString: process.env.DATABASE_URL!, schema })
await store.countActive()
process.stdout.write('ready\n')
await Promise.all(
  Array.from({ length: writers }, async (_, writer) => {
    for (let round = 0; ; round++) {
      const agentId = `w${writer}-${round}`
      await store.create({
        agentId,
        agentType: 'kill',
        message: 'queued',
        metadata: { writer: `w${writer}` },
      })
      process.stdout.write(`created ${agentId}\n`)
      for (let step = 1; step <= 5; step++) {
        await store.append(agentId, { status: 'running', message: `step ${step}`, percentage: step * 10 })
        process.stdout.write(`appended ${agentId} ${step}\n`)
      }
      await store.append(agentId, { status: 'complete', message: 'done', percentage: 100 })
      process.stdout.write(`completed ${agentId}\n`)
    }
  }),
)
