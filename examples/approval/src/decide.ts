/**
 * Process 2: records a person's decision on the waiting run's pending calls and resumes the run
 * from its checkpoint in the SQLite file, then prints the answer and the activity log.
 *
 *   node src/decide.ts <agentId> approve
 *   node src/decide.ts <agentId> deny "not today"
 *   node src/decide.ts <agentId>                  # in a terminal: asks
 *   node src/decide.ts                            # lists the runs waiting for a decision
 *
 * Options: --by <name> (who decided, kept with the decision; default "cli").
 */
import { stdin, stdout } from 'node:process'
import { createInterface } from 'node:readline/promises'
import { parseArgs } from 'node:util'
import { type PendingRequest, RunnerError } from '@runner/core'
import { assistant, connect, databasePath, decisionScript, live, openStore, printEvent } from './setup.ts'

const usage = [
  'Usage: node src/decide.ts <agentId> approve|deny [reason] [--by <name>]',
  '       node src/decide.ts <agentId>    (asks, in a terminal)',
  '       node src/decide.ts              (lists the runs waiting for a decision)',
  'The database is APPROVAL_DB, or the default file the agent used.',
].join('\n')

let parsed: ReturnType<typeof parseCommandLine>
try {
  parsed = parseCommandLine()
} catch (error) {
  console.error(`${(error as Error).message}\n\n${usage}`)
  process.exit(2)
}
if (parsed.values.help) {
  console.log(usage)
  process.exit(0)
}
const [agentId, word, ...reasonWords] = parsed.positionals
if (word !== undefined && word !== 'approve' && word !== 'deny') {
  console.error(`The decision must be "approve" or "deny", not ${JSON.stringify(word)}.\n\n${usage}`)
  process.exit(2)
}
const given: 'approve' | 'deny' | undefined = word

const store = openStore()
try {
  process.exitCode = await main()
} catch (error) {
  // Refusals say what is wrong: a decision already made, a run another process resumed first...
  if (!RunnerError.isInstance(error)) throw error
  console.error(`\n${error.name}: ${error.message}`)
  process.exitCode = 1
} finally {
  await store.close()
}

async function main(): Promise<number> {
  if (agentId === undefined) return listWaiting()
  const record = await store.getRun(agentId)
  if (!record) {
    console.error(`No run ${agentId} in ${databasePath}.`)
    return 1
  }
  if (record.status !== 'waiting') {
    console.error(`Run ${agentId} is ${record.status}: no call of it waits for a decision.`)
    return 1
  }
  const undecided = (record.pending ?? []).filter((request) => !request.decision)
  // Decided already (this program stopped before the resume): resume it with those decisions.
  const recorded = record.pending?.find((request) => request.decision)?.decision?.type
  let decision: 'approve' | 'deny' | undefined =
    undecided.length === 0 ? (recorded as 'approve' | 'deny') : given
  let reason = reasonWords.join(' ') || undefined
  if (undecided.length === 0) {
    console.log(`Every call of run ${agentId} is decided already: resuming it.`)
  } else {
    console.log(`Run ${agentId} waits for:`)
    for (const request of undecided) console.log(describe(request))
  }

  // The decision: from the command line, or asked in a terminal.
  if (decision === undefined) {
    if (!stdin.isTTY || !stdout.isTTY) {
      console.error(`\nGive the decision: approve or deny.\n\n${usage}`)
      return 2
    }
    const prompt = createInterface({ input: stdin, output: stdout })
    try {
      while (decision === undefined) {
        const answer = (await prompt.question('\nApprove? [y/n] ')).trim().toLowerCase()
        if (answer === 'y' || answer === 'yes') decision = 'approve'
        if (answer === 'n' || answer === 'no') decision = 'deny'
      }
      if (decision === 'deny') reason = (await prompt.question('Reason (optional): ')).trim() || undefined
    } finally {
      prompt.close()
    }
  }

  // The same agent (its tools) on the model; the scripted fake plays the call after the decision.
  const { runner, model, fake } = await connect(store, decisionScript(decision))
  try {
    const by = parsed.values.by
    for (const request of undecided) {
      if (decision === 'approve') await runner.approve(agentId, request.id, { by })
      else await runner.deny(agentId, request.id, { by, ...(reason ? { reason } : {}) })
    }
    const decided =
      undecided.length === 0
        ? 'Decided earlier'
        : `${decision === 'approve' ? 'Approved' : 'Denied'} by ${by}`
    console.log(`\n${decided}. Resuming on ${model}${live ? '' : ', scripted'}:\n`)

    // The conversation comes from the checkpoint in the file, not from this process.
    const stream = runner.resumeStreamed(assistant(model, store), agentId)
    for await (const event of stream) printEvent(event)
    const result = await stream.result
    console.log('')
    if (fake) {
      // What the model was sent over HTTP after the decision: the tool result of each decided call.
      const messages = (fake.requests.at(-1)?.body.messages ?? []) as Array<{
        role: string
        tool_call_id?: string
        content?: unknown
      }>
      for (const request of record.pending ?? []) {
        const sent = messages.find(
          (message) => message.role === 'tool' && message.tool_call_id === request.id,
        )
        console.log(
          `\nThe model's request after the decision carried ${request.toolName}'s result: ${JSON.stringify(sent?.content)}`,
        )
      }
    }
    if (result.status === 'waiting') {
      // A real model may want another email: decide again.
      console.log(`\nRun ${agentId} waits again:`)
      for (const request of result.pending) console.log(describe(request))
    }

    const activity = await runner.activity.detail(agentId)
    console.log(`\nActivity log of ${agentId} (${activity.agentType}):`)
    for (const entry of activity.log) {
      const percentage = entry.percentage === null ? '' : ` (${entry.percentage}%)`
      console.log(`  ${entry.status.padEnd(8)} ${(entry.kind ?? '').padEnd(9)} ${entry.message}${percentage}`)
    }
    console.log(`\nUsage: ${result.usage.totalTokens} tokens in ${result.turns} turns (both processes).`)
  } finally {
    await fake?.close()
  }
  return 0
}

function parseCommandLine() {
  return parseArgs({
    allowPositionals: true,
    options: {
      by: { type: 'string', default: 'cli' },
      help: { type: 'boolean', short: 'h' },
    },
  })
}

/** The runs of the database waiting for a decision. */
async function listWaiting(): Promise<number> {
  const page = await store.list({ status: 'waiting', limit: 20 })
  if (page.items.length === 0) {
    console.log(`No run waits for a decision in ${databasePath}.\n\n${usage}`)
    return 0
  }
  console.log(`Runs waiting for a decision in ${databasePath}:`)
  for (const item of page.items) console.log(`  ${item.agentId}  ${item.agentType}  ${item.message}`)
  console.log(`\n${usage}`)
  return 0
}

function describe(request: PendingRequest): string {
  const input = JSON.stringify(request.input, null, 2).replace(/\n/g, '\n    ')
  return `  ${request.toolName} (tool call ${request.id}) with\n    ${input}`
}
