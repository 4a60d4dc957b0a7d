/**
 * What both processes share: the store (one SQLite file), the agent and its tools, and the model
 * (a real OpenAI or compatible server, or the test kit's scripted protocol fake).
 */
import { mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { defineTool, type RunEvent } from '@runner/core'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { type OpenAIAgent, OpenAIRunner } from '@runner/openai'
import { type ProtocolFake, type Scenario, scenario, startProtocolFake } from '@runner/testkit'
import { z } from 'zod'

/** The SQLite file both processes open: APPROVAL_DB, or a fixed file under the OS temp directory. */
export const databasePath = process.env.APPROVAL_DB || join(tmpdir(), 'runner-approval', 'activities.db')

/** A real server when a key or a base URL is set; otherwise the scripted fake. */
export const live = Boolean(process.env.OPENAI_API_KEY || process.env.OPENAI_BASE_URL)

/** The scripted model's name (the fake routes requests by it). */
const scriptedModel = 'scripted-assistant'

/** What the agent is asked to do. */
export const request =
  'Find out what sea otters eat and email a two-line summary to ada@example.org, subject "Otter diet".'

export function openStore(): SqliteActivityStore {
  mkdirSync(dirname(databasePath), { recursive: true })
  return new SqliteActivityStore({ path: databasePath })
}

/**
 * The runner on the model: a real server, or a new protocol fake in this process playing
 * `script`. Each process has its own fake: the first plays the research up to the call that waits
 * for approval, the second the model call made after the decision.
 */
export async function connect(
  store: SqliteActivityStore,
  script: Scenario,
): Promise<{ runner: OpenAIRunner; model: string; fake?: ProtocolFake }> {
  if (live) {
    const runner = new OpenAIRunner({
      activity: store,
      // Local servers need no key, but the SDK wants one: any non-empty string will do.
      apiKey: process.env.OPENAI_API_KEY || 'no-key',
      baseURL: process.env.OPENAI_BASE_URL,
    })
    return { runner, model: process.env.OPENAI_MODEL ?? 'gpt-5.4-mini' }
  }
  const fake = await startProtocolFake()
  const { model } = fake.play(script, { model: scriptedModel })
  const runner = new OpenAIRunner({
    activity: store,
    apiKey: 'scripted',
    baseURL: fake.openaiBaseURL,
    maxRetries: 0,
  })
  return { runner, model, fake }
}

/** The agent: research tools, and `send_email`, which waits for a person's approval. */
export function assistant(model: string, store: SqliteActivityStore): OpenAIAgent {
  return {
    name: 'assistant',
    model,
    instructions:
      'You are an assistant. Look facts up with search before you write, keep emails short, and ' +
      'send them with send_email. If a tool call is denied, do not try again: tell the user why.',
    tools: [search, sendEmail(store)],
  }
}

/** Looks facts up in a tiny offline "web", so the example runs anywhere. */
const search = defineTool({
  name: 'search',
  description: 'Searches the web and returns what the best page says.',
  inputSchema: z.object({ query: z.string().min(1) }),
  execute: async ({ query }) =>
    /otter/i.test(query)
      ? 'Sea otters eat sea urchins, crabs, clams and mussels, about a quarter of their weight a day, ' +
        'and crack shells open with stones they keep under their arms.'
      : 'No result.',
})

/**
 * Sends an email, after a person approved the call (`needsApproval: true`). The "mail server" is
 * an outbox in the store (documents, by idempotency key): a call repeated with the same key (a
 * crash after the send and before the journal write) sends nothing twice.
 */
function sendEmail(store: SqliteActivityStore) {
  return defineTool({
    name: 'send_email',
    description: 'Sends an email. A person approves each email before it goes out.',
    inputSchema: z.object({ to: z.email(), subject: z.string().min(1), body: z.string().min(1) }),
    needsApproval: true,
    execute: async ({ to, subject, body }, { idempotencyKey, signal }) => {
      await delay(20, undefined, { signal }) // the mail server's round trip
      console.log(`   send_email: sending with idempotency key ${idempotencyKey}`)
      if (await store.documents.get('outbox', idempotencyKey)) return `Already sent to ${to}.`
      await store.documents.put('outbox', idempotencyKey, { to, subject, body, at: new Date().toISOString() })
      return `Sent to ${to}.`
    },
  })
}

/** The email the scripted model writes. */
export const scriptedEmail = {
  to: 'ada@example.org',
  subject: 'Otter diet',
  body:
    'Sea otters eat sea urchins, crabs, clams and mussels, about a quarter of their weight a day.\n' +
    'They crack the shells open with stones they keep under their arms.',
}

/**
 * Process 1's scripted model: report, search, then report and send_email in one answer (the
 * report runs, send_email waits for approval and the run ends `waiting`).
 */
export function researchScript(): Scenario {
  return scenario()
    .toolCall('report_status', { message: 'Looking up what sea otters eat', percentage: 20 })
    .usage({ inputTokens: 390, outputTokens: 26 })
    .toolCall('search', { query: 'what do sea otters eat' })
    .usage({ inputTokens: 431, outputTokens: 19 })
    .toolCalls([
      { name: 'report_status', input: { message: 'Emailing the summary to Ada', percentage: 80 } },
      { name: 'send_email', input: scriptedEmail },
    ])
    .usage({ inputTokens: 512, outputTokens: 88 })
}

/**
 * Process 2's scripted model: the one call made after the decision, whose answer is written for
 * that decision (a real model reads the tool result instead: "Sent to ..." or "Tool call denied:
 * <reason>").
 */
export function decisionScript(decision: 'approve' | 'deny'): Scenario {
  const text =
    decision === 'approve'
      ? 'Done: I emailed Ada a two-line summary of what sea otters eat (subject "Otter diet").'
      : 'I did not email Ada: the email was denied. Here is the summary, for you to pass on: sea ' +
        'otters eat sea urchins, crabs, clams and mussels, and crack the shells open with stones.'
  return scenario().text(text).usage({ inputTokens: 640, outputTokens: 31 })
}

/** Prints the events of a streamed run: tool calls, results, retries and the streamed answer. */
export function printEvent(event: RunEvent): void {
  if (event.type === 'text-delta') process.stdout.write(event.text)
  if (event.type === 'tool-call') console.log(`-> ${event.toolName} ${JSON.stringify(event.input)}`)
  if (event.type === 'tool-result') {
    const output = typeof event.output === 'string' ? event.output : JSON.stringify(event.output)
    console.log(
      `   ${event.isError ? 'error' : 'got'}: ${output.length > 90 ? `${output.slice(0, 87)}...` : output}`,
    )
  }
  if (event.type === 'retry') {
    const reason = event.error instanceof Error ? event.error.message : String(event.error)
    console.log(`retrying (attempt ${event.attempt} of ${event.maxAttempts}): ${reason}`)
  }
}
