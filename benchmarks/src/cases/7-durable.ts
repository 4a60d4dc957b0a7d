/**
 * Case 7, durable runs: what checkpointing costs per turn, and how fast a waiting run resumes.
 * `OpenAIRunner` on case 1's two-turn tool run (Chat Completions, the protocol fake), durable (a
 * checkpoint after the answer that calls tools, the tool call journaled) against the same runner
 * with `durable: false`, on each store, in interleaved rounds. Then a run whose tool needs
 * approval: suspended, approved, and resumed; timed from `resume()` to the resumed run's first
 * model request (reading the record, the resume line, the approved tool and its journal entry).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ActivityStore, createActivityTracker, defineTool, MemoryActivityStore } from '@runner/core'
import { SqliteActivityStore } from '@runner/core/sqlite'
import { OpenAIRunner } from '@runner/openai'
import OpenAI from 'openai'
import { type BenchCase, type CaseContext, size } from '../lib/case.ts'
import type { FakeServer } from '../lib/fake-server.ts'
import {
  expectAnswer,
  PROMPT,
  SEARCH_DESCRIPTION,
  searchInput,
  searchTool,
  searchWeb,
} from '../lib/fixtures.ts'
import { compareRow, type Row, type Target, valueRow } from '../lib/results.ts'
import { type Contender, interleavedRounds, sequential, series } from '../lib/rounds.ts'
import { median } from '../lib/stats.ts'
import { type Opened, openPostgres } from './4-stores.ts'

const checkpointCost: Target = { on: 'ratio', op: '<=', limit: 1.05, text: '≤ 1.05× not durable' }

/** The same `search`, asking a person first. */
const approvedSearch = defineTool({
  name: 'search',
  description: SEARCH_DESCRIPTION,
  inputSchema: searchInput,
  needsApproval: true,
  execute: searchWeb,
})

interface StoreUnderTest {
  name: string
  target?: Target
  open(): Promise<Opened | { skipped: string }>
}

async function storeRows(
  context: CaseContext,
  fake: FakeServer,
  caseId: string,
  candidate: StoreUnderTest,
  store: ActivityStore,
): Promise<Row[]> {
  const client = new OpenAI({ apiKey: 'bench', baseURL: fake.openaiBaseURL, maxRetries: 0 })
  const activity = createActivityTracker({ store })
  const durable = new OpenAIRunner({ client, activity })
  const plain = new OpenAIRunner({ client, activity, durable: false })
  const play = async (name: string, runs: number, tag: string) => {
    const model = `${caseId}-${candidate.name}-${name}-${tag}`
    await fake.play(model, { kind: 'tool-then-text', runs })
    return model
  }
  const contender = (name: string, runner: OpenAIRunner): Contender => ({
    name,
    async prepare(runs, tag) {
      const agent = { model: await play(name, runs, tag), tools: [searchTool] }
      return sequential(runs, async () =>
        expectAnswer((await runner.run(agent, PROMPT)).text, `OpenAIRunner (${name})`),
      )
    },
  })
  const settings = {
    runs: size(context, 4, 20),
    rounds: size(context, 6, 20),
    warmupRuns: size(context, 5, 30),
  }
  const samples = await interleavedRounds(
    [contender('not-durable', plain), contender('durable', durable)],
    settings,
  )
  const subject = series(samples, 'durable')
  const reference = series(samples, 'not-durable')
  const addedUs = Math.round((median(subject) - median(reference)) * 1000)

  // Resume latency: suspend, approve, then time resume() to the resumed run's first model request.
  const resumes: number[] = []
  const count = size(context, 5, 30)
  const model = await play('resume', count, 'once')
  const agent = { model, tools: [approvedSearch] }
  for (let index = 0; index < count; index++) {
    const waiting = await durable.run(agent, PROMPT)
    if (waiting.status !== 'waiting') throw new Error(`the run did not wait (${waiting.status})`)
    const callId = waiting.pending[0]?.id as string
    await durable.approve(waiting.agentId, callId)
    let started = 0
    let firstRequest = 0
    started = performance.now()
    const done = await durable.resume(agent, waiting.agentId, {
      hooks: {
        onModelCallStart: () => {
          firstRequest ||= performance.now()
        },
      },
    })
    expectAnswer(done.text, 'resumed OpenAIRunner')
    resumes.push(firstRequest - started)
  }
  return [
    compareRow({
      measure: `${candidate.name}: durable OpenAIRunner vs durable: false`,
      unit: 'ms/run',
      subject,
      reference,
      referenceName: 'durable: false',
      ...(candidate.target ? { target: candidate.target } : {}),
      note: `${addedUs >= 0 ? '+' : ''}${addedUs} µs/run for 1 checkpoint + 1 journal entry (2 turns)`,
    }),
    valueRow({
      measure: `${candidate.name}: resume a waiting run to its first model request`,
      unit: 'ms',
      values: resumes,
      note: 'read record, resume line, approved tool run and journaled',
    }),
  ]
}

export const durableCase: BenchCase = {
  id: '7-durable',
  group: 7,
  title: 'Durable runs: checkpoint cost per run and resume latency',
  async run(context) {
    const fake = await context.fake()
    const scratch = mkdtempSync(join(tmpdir(), 'runner-bench-durable-'))
    const stores: StoreUnderTest[] = [
      { name: 'memory', open: async () => ({ store: new MemoryActivityStore(), close: async () => {} }) },
      {
        name: 'SQLite',
        target: checkpointCost,
        open: async () => {
          const store = new SqliteActivityStore({ path: join(scratch, 'durable.db') })
          return { store, close: () => store.close() }
        },
      },
      { name: 'PostgreSQL', open: () => openPostgres(context) },
    ]
    const rows: Row[] = []
    const notes: string[] = [
      'Each run: two turns (a `search` call, then the answer) against the protocol fake. Durable: one checkpoint (the conversation after the answer that calls the tool) and one journal entry (the tool result), both in the store.',
    ]
    try {
      for (const candidate of stores) {
        const opened = await candidate.open()
        if ('skipped' in opened) {
          notes.push(`${candidate.name} skipped: ${opened.skipped}.`)
          continue
        }
        try {
          rows.push(...(await storeRows(context, fake, this.id, candidate, opened.store)))
        } finally {
          await opened.close()
        }
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true })
    }
    await fake.assertClean()
    return { rows, settings: { runsPerRound: size(context, 4, 20) }, notes }
  },
}
