/**
 * Process 1: the agent researches, then wants to send an email with `send_email`, a tool that
 * needs a person's approval. The run checkpoints, its activity moves to `waiting` in the SQLite
 * file, and this process prints the pending call and exits: nothing waits in memory.
 * Then approve or deny it from another process (src/decide.ts), which resumes the run.
 *
 *   node src/agent.ts                          # the scripted model (no key, no network)
 *   OPENAI_API_KEY=sk-... node src/agent.ts    # OpenAI (OPENAI_MODEL, default gpt-5.4-mini)
 *   APPROVAL_DB=./runs.db node src/agent.ts    # another database file
 */
import {
  assistant,
  connect,
  databasePath,
  live,
  openStore,
  printEvent,
  request,
  researchScript,
} from './setup.ts'

const store = openStore()
const { runner, model, fake } = await connect(store, researchScript())
const agent = assistant(model, store)
console.log(`Model: ${model} on ${runner.client.baseURL}${live ? '' : ', scripted'}`)
console.log(`Store: ${databasePath}\n`)

try {
  const stream = runner.runStreamed(agent, request, { maxTurns: 8 })
  for await (const event of stream) printEvent(event)
  const result = await stream.result

  if (result.status === 'waiting') {
    console.log(`\nRun ${result.agentId} is waiting for approval (${result.turns} turns so far):`)
    for (const pending of result.pending)
      console.log(`  ${pending.toolName} ${JSON.stringify(pending.input)}  (tool call ${pending.id})`)
    // The same database in the next process: say so when it is not the default one.
    const env = process.env.APPROVAL_DB ? `APPROVAL_DB=${JSON.stringify(databasePath)} ` : ''
    console.log('\nNothing runs while it waits: this process exits. Decide from any process on the file:')
    console.log(`  ${env}node src/decide.ts ${result.agentId} approve`)
    console.log(`  ${env}node src/decide.ts ${result.agentId} deny "not today"`)
  } else {
    // A real model may answer without emailing anyone.
    console.log(`\n\nRun ${result.agentId} completed without asking for approval.`)
  }
} finally {
  await fake?.close()
  await store.close()
}
