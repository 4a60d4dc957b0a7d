/**
 * Child process of the cross-process test: watches the store on schema `argv[2]` (all changes),
 * prints `ready` once the watcher has started, then one JSON line per event. After `argv[3]`
 * events it waits a moment for any extra (duplicate) event, prints those too, and exits.
 */
// Registers the .js -> .ts resolve hook before the sources load (a computed URL: tsc leaves it alone).
await import(new URL('./load-source.ts', import.meta.url).href)

const { PostgresActivityStore } = await import('../index.js')

const [schema, countText] = process.argv.slice(2)
const expected = Number(countText)
if (!schema || !Number.isInteger(expected)) throw new Error('usage: watch-child.ts <schema> <event count>')

const store = new PostgresActivityStore({ connectionString: process.env.DATABASE_URL!, schema })
const controller = new AbortController()
const events = store.watch({}, controller.signal)
// Any call made after watch() waits until the watcher has started: from here on nothing is missed.
await store.countActive()
process.stdout.write('ready\n')

let received = 0
let timer: ReturnType<typeof setTimeout> | undefined
for await (const event of events) {
  process.stdout.write(
    `${JSON.stringify({
      agentId: event.agentId,
      status: event.entry.status,
      message: event.entry.message,
      percentage: event.activity.percentage,
      entry: event.entry,
    })}\n`,
  )
  received++
  if (received === expected) timer = setTimeout(() => controller.abort(), 300)
}
clearTimeout(timer)
await store.close()
