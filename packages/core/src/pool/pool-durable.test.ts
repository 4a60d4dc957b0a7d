import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryActivityStore } from '../activity/memory-store.js'
import { createActivityTracker } from '../activity/tracker.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { createJobRunner } from '../lifecycle/job-lifecycle.js'
import { ScriptedModel, ScriptedRunner, type ScriptStep } from '../test/scripted-runner.js'
import { waitForStatus } from '../test/wait-for-activity.js'
import { defineTool } from '../tools/define-tool.js'
import { createPool } from './create-pool.js'
import type { PoolEngine, PoolJob, RegisteredTask } from './types.js'

function emailTool(sent: string[]) {
  return defineTool({
    name: 'send_email',
    description: 'Sends an email',
    inputSchema: z.object({ to: z.string() }),
    needsApproval: true,
    execute: ({ to }) => {
      sent.push(to)
      return `sent to ${to}`
    },
  })
}

const script: ScriptStep[] = [
  { toolCalls: [{ name: 'send_email', input: { to: 'ada@example.org' }, id: 'call-1' }] },
  { text: 'Sent.' },
]

describe('pool tasks that wait for decisions', () => {
  it('a task whose runner waits frees its slot; pool.result waits; pool.approve submits it again and it finishes from its checkpoint', async () => {
    const activity = createActivityTracker({ store: new MemoryActivityStore() })
    const pool = createPool({ activity, concurrency: 1 })
    const sent: string[] = []
    const model = new ScriptedModel(script)
    const runner = new ScriptedRunner({ activity })
    const handled: number[] = []
    const task = pool.task('mail', { input: z.string() }, async ({ agentId, input, attempt }) => {
      handled.push(attempt)
      const result = await runner.run({ model, tools: [emailTool(sent)] }, input, { agentId })
      return result.text ?? null
    })
    const quick = pool.task('quick', { input: z.number() }, async ({ input }) => input * 2)
    const { agentId } = await task.enqueue('Email Ada')
    const result = task.result(agentId)
    await waitForStatus(activity, agentId, 'waiting')
    // The only slot is free while the task waits.
    const other = await quick.enqueue(21)
    await expect(quick.result(other.agentId)).resolves.toBe(42)
    expect((await activity.store.getRun(agentId))?.pending?.map((request) => request.id)).toEqual(['call-1'])

    await pool.approve(agentId, 'call-1', { by: 'ops' })
    await expect(result).resolves.toBe('Sent.')
    expect(sent).toEqual(['ada@example.org'])
    expect(handled).toHaveLength(2)
    const log = (await activity.detail(agentId)).log
    expect(log.map((entry) => entry.status)).toEqual([
      'queued',
      'running',
      'waiting',
      'running',
      'running',
      'complete',
    ])
    expect(log.filter((entry) => entry.kind === 'resume').map((entry) => entry.message)).toEqual([
      'Resuming after decisions',
      expect.stringContaining('send_email approved by ops'),
    ])
    expect((await activity.store.getRun(agentId))?.result).toEqual({ value: 'Sent.' })
    await pool.close()
  })

  it('a waiting task is canceled by pool.cancel; its result rejects with RunCanceledError', async () => {
    const activity = createActivityTracker({ store: new MemoryActivityStore() })
    const pool = createPool({ activity })
    const sent: string[] = []
    const runner = new ScriptedRunner({ activity })
    const task = pool.task('mail', { input: z.string() }, async ({ agentId, input }) => {
      const result = await runner.run({ model: new ScriptedModel(script), tools: [emailTool(sent)] }, input, {
        agentId,
      })
      return result.text ?? null
    })
    const { agentId } = await task.enqueue('Email Ada')
    const result = task.result(agentId).catch((error: unknown) => error)
    await waitForStatus(activity, agentId, 'waiting')
    await expect(pool.cancel(agentId)).resolves.toBe(true)
    expect(RunCanceledError.isInstance(await result)).toBe(true)
    expect(sent).toEqual([])
    expect(await pool.resume(agentId)).toBe(false)
    await pool.close()
  })

  it('pool.result reads the stored result when the engine kept only a complete outcome of a delivery that did not run the handler', async () => {
    const activity = createActivityTracker({ store: new MemoryActivityStore() })
    const agentId = await activity.create('echo')
    await activity.update(agentId, 'Started')
    await activity.store.append(agentId, { status: 'complete', message: 'Complete', result: 42 })
    // An engine that lost the handler's value: a later delivery found the activity complete.
    const engine: PoolEngine = {
      name: 'lossy',
      start() {},
      async submit() {},
      async cancel() {
        return false
      },
      async result(id) {
        return { agentId: id, task: 'echo', status: 'complete', attempts: 0 }
      },
      async close() {},
    }
    const pool = createPool({ activity, engine })
    await expect(pool.result(agentId)).resolves.toBe(42)
    await pool.close()
  })

  it('a job redelivered after its worker was lost resumes its runner from the checkpoint: completed tools are not run again', async () => {
    const activity = createActivityTracker({ store: new MemoryActivityStore() })
    const ran: string[] = []
    let hang = true
    const step = defineTool({
      name: 'step',
      description: 'A side effect',
      inputSchema: z.object({ name: z.string() }),
      execute: async ({ name }) => {
        if (name === 'second' && hang) return new Promise<never>(() => {})
        ran.push(name)
        return `${name} done`
      },
    })
    const steps: ScriptStep[] = [
      { toolCalls: [{ name: 'step', input: { name: 'first' }, id: 'c1' }] },
      {
        toolCalls: [
          { name: 'step', input: { name: 'third' }, id: 'c3' },
          { name: 'step', input: { name: 'second' }, id: 'c2' },
        ],
      },
      { text: 'Done.' },
    ]
    let model = new ScriptedModel(steps)
    const runner = new ScriptedRunner({ activity })
    const task: RegisteredTask = {
      name: 'work',
      input: z.string(),
      retries: 0,
      timeoutMs: undefined,
      retryDelayMs: 1,
      maxRetryDelayMs: 1,
      retryOn: undefined,
      handler: async ({ agentId, input }) =>
        (await runner.run({ model, tools: [step] }, input as string, { agentId })).text ?? null,
    }
    const jobs = createJobRunner({ activity, getTask: () => task })
    const agentId = await activity.create('work')
    const job: PoolJob = {
      agentId,
      task: 'work',
      input: 'Do it',
      priority: 0,
      delayMs: 0,
      attempt: 1,
      enqueuedAt: new Date().toISOString(),
    }
    // The first worker is "lost" while the second call hangs: nobody awaits it again.
    void jobs.runJob(job, { signal: new AbortController().signal })
    const deadline = Date.now() + 2000
    while (!ran.includes('third')) {
      if (Date.now() > deadline) throw new Error('the first worker never got to the third call')
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    hang = false
    model = new ScriptedModel(steps.slice(2))
    const outcome = await jobs.runJob(job, { signal: new AbortController().signal, redelivered: true })
    expect(outcome).toMatchObject({ status: 'complete', result: 'Done.' })
    expect(ran).toEqual(['first', 'third', 'second'])
    const log = (await activity.detail(agentId)).log
    expect(log.map((entry) => entry.kind)).toContain('resume')
    expect(log.find((entry) => entry.kind === 'resume')?.message).toMatch(
      /Resumed from its checkpoint at turn 2/,
    )
  })
})
