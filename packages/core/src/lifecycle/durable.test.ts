import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryActivityStore } from '../activity/memory-store.js'
import { createActivityTracker } from '../activity/tracker.js'
import type { ActivityStore } from '../activity/types.js'
import { CapabilityUnsupportedError } from '../errors/capability-unsupported-error.js'
import { DecisionError } from '../errors/decision-error.js'
import { RunNotResumableError } from '../errors/run-not-resumable-error.js'
import type { RunEvent } from '../runner/events.js'
import { completed } from '../test/completed.js'
import { rejectionOf } from '../test/rejection-of.js'
import { ScriptedModel, ScriptedRunner, type ScriptStep } from '../test/scripted-runner.js'
import { defineTool } from '../tools/define-tool.js'

/** Tools that count how often they ran and with what: the side effects a journal must not repeat. */
function sideEffects() {
  const sent: Array<{ to: string; key: string }> = []
  const searched: string[] = []
  const sendEmail = defineTool({
    name: 'send_email',
    description: 'Sends an email',
    inputSchema: z.object({ to: z.string().email() }),
    needsApproval: true,
    execute: ({ to }, { idempotencyKey }) => {
      sent.push({ to, key: idempotencyKey })
      return `sent to ${to}`
    },
  })
  const search = defineTool({
    name: 'search',
    description: 'Searches',
    inputSchema: z.object({ query: z.string() }),
    execute: ({ query }) => {
      searched.push(query)
      return `results for ${query}`
    },
  })
  return { sent, searched, tools: [sendEmail, search] }
}

const askThenAnswer: ScriptStep[] = [
  {
    toolCalls: [
      { name: 'search', input: { query: 'otters' }, id: 'call-search' },
      { name: 'send_email', input: { to: 'ada@example.org' }, id: 'call-email' },
    ],
    usage: { inputTokens: 10, outputTokens: 5 },
  },
  { text: 'Done.', usage: { inputTokens: 20, outputTokens: 3 } },
]

function runnerOn(store: ActivityStore): ScriptedRunner {
  return new ScriptedRunner({ activity: createActivityTracker({ store }), retry: { attempts: 1 } })
}

describe('approvals (needsApproval)', () => {
  it('a call that needs approval suspends the run: waiting, pending as data, no worker held; approved in another runner, it continues', async () => {
    const store = new MemoryActivityStore()
    const effects = sideEffects()
    const first = runnerOn(store)
    const model = new ScriptedModel(askThenAnswer.slice(0, 1))
    const waiting = await first.run({ model, tools: effects.tools }, 'Email Ada about otters')
    expect(waiting.status).toBe('waiting')
    if (waiting.status !== 'waiting') return
    expect(waiting.pending).toEqual([
      { id: 'call-email', kind: 'approval', toolName: 'send_email', input: { to: 'ada@example.org' } },
    ])
    expect(waiting.turns).toBe(1)
    expect(waiting.usage.totalTokens).toBe(15)
    // The call that needed no approval ran (once); the other waits.
    expect(effects.searched).toEqual(['otters'])
    expect(effects.sent).toEqual([])
    const record = await store.getRun(waiting.agentId)
    expect(record?.status).toBe('waiting')
    expect(record?.pending?.map((request) => request.id)).toEqual(['call-email'])
    expect(record?.journal.map((entry) => entry.toolCallId)).toEqual(['call-search'])
    const activity = await store.get(waiting.agentId)
    expect(activity?.log.at(-1)).toMatchObject({
      status: 'waiting',
      kind: 'approval',
      message: 'Waiting for approval of send_email',
    })

    // Another runner instance (another process, days later) decides and resumes.
    const second = runnerOn(store)
    await second.approve(waiting.agentId, 'call-email', { by: 'grace' })
    const done = await completed(
      second.resume(
        { model: new ScriptedModel(askThenAnswer.slice(1)), tools: effects.tools },
        waiting.agentId,
      ),
    )
    expect(done.text).toBe('Done.')
    expect(done.turns).toBe(2)
    expect(done.usage).toMatchObject({ inputTokens: 30, outputTokens: 8, totalTokens: 38 })
    expect(effects.searched).toEqual(['otters'])
    expect(effects.sent).toEqual([{ to: 'ada@example.org', key: `${waiting.agentId}:call-email` }])
    const log = (await store.get(waiting.agentId))?.log ?? []
    expect(log.map((entry) => entry.status)).toEqual(['queued', 'running', 'waiting', 'running', 'complete'])
    expect(log[3]).toMatchObject({
      kind: 'resume',
      message: expect.stringContaining('send_email approved by grace'),
    })
    // The result is stored with the terminal status.
    expect((await store.getRun(waiting.agentId))?.result).toEqual({
      value: { text: 'Done.', turns: 2, usage: done.usage },
    })
    // The trajectory goes on across the suspension; the journaled call is marked replayed.
    const toolSteps = done.trajectory?.steps.filter((step) => step.kind === 'tool-call') ?? []
    expect(toolSteps.map((step) => [step.data.toolName, step.data.replayed ?? false])).toEqual([
      ['search', false],
      ['search', true],
      ['send_email', false],
    ])
  })

  it('a denial reaches the model as a tool error it reads; the tool never runs', async () => {
    const store = new MemoryActivityStore()
    const effects = sideEffects()
    const runner = runnerOn(store)
    const waiting = await runner.run(
      { model: new ScriptedModel(askThenAnswer.slice(0, 1)), tools: effects.tools },
      'Email Ada',
    )
    const model = new ScriptedModel(askThenAnswer.slice(1))
    const done = await completed(
      runner.resume({ model, tools: effects.tools }, waiting.agentId, {
        decisions: { 'call-email': { type: 'deny', reason: 'not today' } },
      }),
    )
    expect(done.text).toBe('Done.')
    expect(effects.sent).toEqual([])
    expect(model.calls[0]?.messages).toContain('send_email: Tool call denied: not today')
    expect(model.calls[0]?.messages).toContain('search: results for otters')
  })

  it('an approval with edited input runs the tool with it; an edit the schema refuses is a tool error for the model', async () => {
    const store = new MemoryActivityStore()
    const effects = sideEffects()
    const runner = runnerOn(store)
    const agentOf = (steps: ScriptStep[]) => ({ model: new ScriptedModel(steps), tools: effects.tools })
    const first = await runner.run(agentOf(askThenAnswer.slice(0, 1)), 'Email Ada')
    await completed(
      runner.resume(agentOf(askThenAnswer.slice(1)), first.agentId, {
        decisions: { 'call-email': { type: 'approve', input: { to: 'grace@example.org' } } },
      }),
    )
    expect(effects.sent.map((call) => call.to)).toEqual(['grace@example.org'])

    const second = await runner.run(agentOf(askThenAnswer.slice(0, 1)), 'Email Ada')
    const model = new ScriptedModel(askThenAnswer.slice(1))
    await completed(
      runner.resume({ model, tools: effects.tools }, second.agentId, {
        decisions: { 'call-email': { type: 'approve', input: { to: 'not an address' } } },
      }),
    )
    expect(effects.sent).toHaveLength(1)
    expect(model.calls[0]?.messages.find((message) => message.startsWith('send_email:'))).toMatch(
      /Invalid input/i,
    )
  })

  it('needsApproval as a function asks only for the inputs it picks', async () => {
    const store = new MemoryActivityStore()
    const paid: number[] = []
    const pay = defineTool({
      name: 'pay',
      description: 'Pays',
      inputSchema: z.object({ amount: z.number() }),
      needsApproval: ({ amount }) => amount > 100,
      execute: ({ amount }) => {
        paid.push(amount)
        return 'paid'
      },
    })
    const runner = runnerOn(store)
    const waiting = await runner.run(
      {
        model: new ScriptedModel([
          { toolCalls: [{ name: 'pay', input: { amount: 5 }, id: 'small' }] },
          { toolCalls: [{ name: 'pay', input: { amount: 500 }, id: 'large' }] },
        ]),
        tools: [pay],
      },
      'Pay',
    )
    expect(paid).toEqual([5])
    expect(waiting.status === 'waiting' && waiting.pending.map((request) => request.id)).toEqual(['large'])
  })

  it('refuses decisions that do not apply (DecisionError) and resumes that cannot go ahead (RunNotResumableError), changing nothing', async () => {
    const store = new MemoryActivityStore()
    const effects = sideEffects()
    const runner = runnerOn(store)
    const waiting = await runner.run(
      { model: new ScriptedModel(askThenAnswer.slice(0, 1)), tools: effects.tools },
      'Email Ada',
    )
    const agent = { model: new ScriptedModel(askThenAnswer.slice(1)), tools: effects.tools }
    expect(DecisionError.isInstance(await rejectionOf(runner.approve(waiting.agentId, 'call-search')))).toBe(
      true,
    )
    expect(
      DecisionError.isInstance(await rejectionOf(runner.respond(waiting.agentId, 'call-email', 'yes'))),
    ).toBe(true)
    const undecided = await rejectionOf(runner.resume(agent, waiting.agentId))
    expect(RunNotResumableError.isInstance(undecided) && undecided.reason).toBe('undecided')
    expect(String(undecided)).toContain('"call-email" (send_email)')
    const unknown = await rejectionOf(runner.resume(agent, 'no-such-run'))
    expect(RunNotResumableError.isInstance(unknown) && unknown.reason).toBe('not-found')
    expect((await store.get(waiting.agentId))?.status).toBe('waiting')

    await runner.approve(waiting.agentId, 'call-email')
    expect(DecisionError.isInstance(await rejectionOf(runner.deny(waiting.agentId, 'call-email')))).toBe(true)
    await completed(runner.resume(agent, waiting.agentId))
    const finished = await rejectionOf(runner.resume(agent, waiting.agentId))
    expect(RunNotResumableError.isInstance(finished) && finished.reason).toBe('finished')
    expect(DecisionError.isInstance(await rejectionOf(runner.approve(waiting.agentId, 'call-email')))).toBe(
      true,
    )
  })

  it('a resume with an agent that lacks the tool of a call still to run is refused, naming the call and the tool', async () => {
    const store = new MemoryActivityStore()
    const effects = sideEffects()
    const runner = runnerOn(store)
    const waiting = await runner.run(
      { model: new ScriptedModel(askThenAnswer.slice(0, 1)), tools: effects.tools },
      'Email Ada',
    )
    await runner.approve(waiting.agentId, 'call-email')
    const withoutEmail = { model: new ScriptedModel(askThenAnswer.slice(1)), tools: [effects.tools[1]!] }
    const refused = await rejectionOf(runner.resume(withoutEmail, waiting.agentId))
    expect(RunNotResumableError.isInstance(refused) && refused.reason).toBe('mismatch')
    expect(String(refused)).toContain('"send_email" (call call-email)')
    expect(effects.sent).toEqual([])
  })

  it('a wait past approvalTimeoutMs ends the run in error and refuses the late decision', async () => {
    const store = new MemoryActivityStore()
    const effects = sideEffects()
    const runner = runnerOn(store)
    const waiting = await runner.run(
      { model: new ScriptedModel(askThenAnswer.slice(0, 1)), tools: effects.tools },
      'Email Ada',
      { approvalTimeoutMs: 1 },
    )
    expect(waiting.status === 'waiting' && waiting.expiresAt).toMatch(/Z$/)
    await new Promise((resolve) => setTimeout(resolve, 5))
    const late = await rejectionOf(runner.approve(waiting.agentId, 'call-email'))
    expect(RunNotResumableError.isInstance(late) && late.reason).toBe('expired')
    const activity = await store.get(waiting.agentId)
    expect(activity?.status).toBe('error')
    expect(activity?.message).toContain('Approval expired')
    expect(effects.sent).toEqual([])
  })

  it('a runner that is not durable refuses resume up front, and a run with durable: false cannot wait', async () => {
    class Plain extends ScriptedRunner {
      override get capabilities() {
        return { ...super.capabilities, durable: false }
      }
    }
    const store = new MemoryActivityStore()
    const effects = sideEffects()
    const plain = new Plain({ activity: store })
    const refused = await rejectionOf(
      plain.resume({ model: new ScriptedModel([]), tools: effects.tools }, 'anything'),
    )
    expect(CapabilityUnsupportedError.isInstance(refused) && refused.capability).toBe('durable')
    const runner = runnerOn(store)
    const failed = await rejectionOf(
      runner.run({ model: new ScriptedModel(askThenAnswer.slice(0, 1)), tools: effects.tools }, 'Email', {
        durable: false,
      }),
    )
    expect(CapabilityUnsupportedError.isInstance(failed)).toBe(true)
    expect(effects.sent).toEqual([])
  })

  it('a streamed run that suspends ends with run-end carrying the waiting result', async () => {
    const store = new MemoryActivityStore()
    const effects = sideEffects()
    const runner = runnerOn(store)
    const stream = runner.runStreamed(
      { model: new ScriptedModel(askThenAnswer.slice(0, 1)), tools: effects.tools },
      'Email Ada',
    )
    const events: RunEvent[] = []
    for await (const event of stream) events.push(event)
    const last = events.at(-1)
    expect(last?.type).toBe('run-end')
    expect(last?.type === 'run-end' && last.result.status).toBe('waiting')
    expect((await stream.result).status).toBe('waiting')
  })
})

describe('crash and resume', () => {
  it('a run abandoned mid-turn resumes on a fresh runner from its checkpoint: completed tools are not run again, usage and turns go on', async () => {
    const store = new MemoryActivityStore()
    const ran: string[] = []
    let hang = true
    const step = defineTool({
      name: 'step',
      description: 'A side effect',
      inputSchema: z.object({ name: z.string() }),
      execute: async ({ name }) => {
        if (name === 'third' && hang) return new Promise<never>(() => {})
        ran.push(name)
        return `${name} done`
      },
    })
    const script: ScriptStep[] = [
      {
        toolCalls: [{ name: 'step', input: { name: 'first' }, id: 'c1' }],
        usage: { inputTokens: 1, outputTokens: 1 },
      },
      {
        toolCalls: [
          { name: 'step', input: { name: 'second' }, id: 'c2' },
          { name: 'step', input: { name: 'third' }, id: 'c3' },
        ],
        usage: { inputTokens: 2, outputTokens: 2 },
      },
      { text: 'All done.', usage: { inputTokens: 3, outputTokens: 3 } },
    ]
    const crashed = runnerOn(store)
    // The process "dies" while the third call hangs: nobody awaits this run again.
    void crashed.run({ model: new ScriptedModel(script), tools: [step] }, 'Do three things', {
      agentId: 'crash-1',
    })
    await waitFor(async () => ran.includes('second'))
    expect((await store.get('crash-1'))?.status).toBe('running')

    hang = false
    const fresh = runnerOn(store)
    const model = new ScriptedModel(script.slice(2))
    const done = await completed(fresh.resume({ model, tools: [step] }, 'crash-1'))
    expect(done.text).toBe('All done.')
    expect(ran).toEqual(['first', 'second', 'third'])
    expect(done.turns).toBe(3)
    expect(done.usage.totalTokens).toBe(12)
    expect(model.calls[0]?.messages).toEqual([
      'Do three things',
      'step: first done',
      'step: second done',
      'step: third done',
    ])
    const log = (await store.get('crash-1'))?.log ?? []
    expect(log.find((entry) => entry.kind === 'resume')?.message).toMatch(
      /Resumed from its checkpoint at turn 2/,
    )
  })
})

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 2000
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met within 2 s')
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}
