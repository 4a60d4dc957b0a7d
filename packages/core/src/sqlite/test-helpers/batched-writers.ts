/**
 * Child process of `sqlite-crash.test.ts`: 16 concurrent writers on the database at
 * `process.argv[2]`, their writes batched by the store's group commit, until the process is killed.
 * Writes a line to the file at `process.argv[3]` (a plain `write`, in the operating system's hands
 * at once: it outlives the process) once each write's promise has resolved: `created <agentId>` or
 * `appended <agentId> <message>` (every message is unique). An append to an unknown activity,
 * refused inside a batch, prints nothing.
 *
 * Node runs this file with type stripping; a resolve hook maps the sources' `./x.js` imports to
 * their `.ts` files (as in `write-loop.ts`).
 */
import fs from 'node:fs'

// Registers the .js -> .ts resolve hook before the sources load (a computed URL: tsc leaves it alone).
await import(new URL('./load-source.ts', import.meta.url).href)

const { SqliteActivityStore } = await import('../sqlite-store.js')

const [path, output] = process.argv.slice(2)
if (!path || !output) throw new Error('usage: batched-writers.ts <database file> <output file>')
const store = new SqliteActivityStore({ path })
const descriptor = fs.openSync(output, 'a')
const print = (line: string) => fs.writeSync(descriptor, `${line}\n`)

async function writer(writer: number): Promise<never> {
  for (let round = 0; ; round++) {
    const agentId = `w${writer}-r${round}-${process.pid}`
    await store.create({ agentId, agentType: 'crash-test', message: 'Waiting', metadata: { writer } })
    print(`created ${agentId}`)
    for (let step = 0; step < 40; step++) {
      const message = `step-${step}`
      await store.append(agentId, { status: 'running', message, percentage: step })
      print(`appended ${agentId} ${message}`)
      if (step % 10 === 5) {
        // Refused alone, in the middle of other writers' batches.
        await store.append(`missing-${writer}`, { status: 'running', message: 'lost' }).then(
          () => {
            throw new Error('an append to an unknown activity resolved')
          },
          () => undefined,
        )
      }
    }
    await store.append(agentId, { status: round % 2 === 0 ? 'complete' : 'error', message: 'end' })
    print(`appended ${agentId} end`)
  }
}

await Promise.all(Array.from({ length: 16 }, (_, index) => writer(index)))
