/**
 * Child process of the crash test in `sqlite-store.test.ts`: writes activities to the database at
 * `process.argv[2]` in a tight loop until killed. Prints `ready` once some writes have committed.
 *
 * Node runs this file with type stripping. The sources import each other as `./x.js` (as the build
 * needs), so a resolve hook maps a missing relative `.js` to its `.ts` before the store is loaded.
 */

// Registers the .js -> .ts resolve hook before the sources load (a computed URL: tsc leaves it alone).
await import(new URL('./load-source.ts', import.meta.url).href)

const { SqliteActivityStore } = await import('../sqlite-store.js')

const path = process.argv[2]
if (!path) throw new Error('usage: write-loop.ts <database file>')
const store = new SqliteActivityStore({ path })
let announced = false
for (let index = 0; ; index++) {
  const agentId = `child-${process.pid}-${index}`
  await store.create({ agentId, agentType: 'crash-test', message: 'Waiting', metadata: { index } })
  await store.append(agentId, { status: 'running', message: 'Started' })
  await store.append(agentId, { status: 'running', message: 'Halfway', percentage: 50 })
  if (index % 3 === 0) await store.append(agentId, { status: 'complete', message: 'Done', percentage: 100 })
  else if (index % 3 === 1) await store.append(agentId, { status: 'error', message: 'Failed' })
  if (!announced && index >= 20) {
    announced = true
    process.stdout.write('ready\n')
  }
}
