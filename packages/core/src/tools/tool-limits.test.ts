import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { MemoryActivityStore } from '../activity/memory-store.js'
import { createActivityTracker } from '../activity/tracker.js'
import type { ActivityStore } from '../activity/types.js'
import { ValueTooLargeError } from '../errors/value-too-large-error.js'
import type { RunEvent } from '../runner/events.js'
import { useTempDatabases } from '../sqlite/test-helpers/temp-database.js'
import { rejectionOf } from '../test/rejection-of.js'
import { ScriptedModel, ScriptedRunner } from '../test/scripted-runner.js'
import { MAX_JSON_DEPTH } from '../util/json-limits.js'
import { defineTool } from './define-tool.js'

const { tempDatabase, open } = useTempDatabases()

/** `levels` objects nested in one another: `{ a: { a: ... 1 } }`. */
function nested(levels: number): unknown {
  let value: unknown = 1
  for (let level = 0; level < levels; level++) value = { a: value }
  return value
}

const stores: Array<[string, () => ActivityStore]> = [
  ['in memory', () => new MemoryActivityStore()],
  ['durable on SQLite', () => open({ path: tempDatabase() })],
]

/** A tool returning `output`, counting its calls. */
function fetchTool(output: () => unknown, options: { needsApproval?: boolean } = {}) {
  let calls = 0
  const tool = defineTool({
    name: 'fetch_tree',
    description: 'Fetches a tree',
    inputSchema: z.object({ tree: z.unknown().optional() }),
    execute: () => {
      calls++
      return output()
    },
    ...options,
  })
  return { tool, calls: () => calls }
}

describe.each(stores)('tool values nested past the limit (%s)', (_, makeStore) => {
  function setup() {
    const store = makeStore()
    const activity = createActivityTracker({ store })
    return { store, activity, runner: new ScriptedRunner({ activity }) }
  }

  it('fails the run with ValueTooLargeError naming the tool when its output is 5,000 deep; the activity ends error', async () => {
    const { store, activity, runner } = setup()
    const { tool } = fetchTool(() => nested(5_000))
    const model = new ScriptedModel([
      { toolCalls: [{ name: 'fetch_tree', input: {} }] },
      { text: 'unreached' },
    ])
    const error = await rejectionOf(runner.run({ model, tools: [tool] }, 'Fetch it', { agentId: 'a1' }))
    expect(ValueTooLargeError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ field: 'output', unit: 'levels', limit: MAX_JSON_DEPTH })
    expect((error as Error).message).toMatch(
      /^Invalid output of tool "fetch_tree": output: is nested more than 512 levels deep \(the limit\)/,
    )
    expect(model.calls).toHaveLength(1)
    const detail = await activity.detail('a1')
    expect(detail.status).toBe('error')
    expect(detail.message).toContain('Invalid output of tool "fetch_tree"')
    expect((await store.getRun('a1'))?.journal).toEqual([])
  })

  it('gives the model an output nested exactly at the limit', async () => {
    const { store, runner } = setup()
    const { tool } = fetchTool(() => nested(MAX_JSON_DEPTH))
    const model = new ScriptedModel([{ toolCalls: [{ name: 'fetch_tree', input: {} }] }, { text: 'Got it' }])
    const result = await runner.run({ model, tools: [tool] }, 'Fetch it', { agentId: 'a1' })
    expect(result).toMatchObject({ status: 'complete', text: 'Got it' })
    expect(model.calls[1]?.messages.at(-1)).toBe(`fetch_tree: ${JSON.stringify(nested(MAX_JSON_DEPTH))}`)
    // Both stores keep durable runs: the call is journaled with its output as it was.
    expect((await store.getRun('a1'))?.journal.map((entry) => entry.output)).toEqual([nested(MAX_JSON_DEPTH)])
  })

  it('answers a model whose tool input is 5,000 deep with an invalid-input result, never running the tool or keeping the input', async () => {
    const { activity, runner } = setup()
    const { tool, calls } = fetchTool(() => 'fetched', { needsApproval: true })
    const model = new ScriptedModel([
      { toolCalls: [{ name: 'fetch_tree', input: { tree: nested(5_000) } }] },
      { text: 'Sorry' },
    ])
    const stream = runner.runStreamed({ model, tools: [tool] }, 'Fetch it', { agentId: 'a1' })
    const events: RunEvent[] = []
    for await (const event of stream) events.push(event)
    const result = await stream.result
    expect(result).toMatchObject({ status: 'complete', text: 'Sorry' })
    expect(calls()).toBe(0)
    expect(model.calls[1]?.messages.at(-1)).toBe(
      'fetch_tree: Invalid input for tool "fetch_tree": (input) is nested more than 512 levels deep (the limit); flatten it. Call it again with arguments that match its schema.',
    )
    const step = (await activity.trajectory('a1'))?.steps.find((candidate) => candidate.kind === 'tool-call')
    expect(step?.data).toMatchObject({
      toolName: 'fetch_tree',
      input: '[input of tool "fetch_tree" nested more than 512 levels deep, not kept]',
      isError: true,
    })
    // The events carry the short text in its place, so they can be sent as JSON.
    expect(events.find((event) => event.type === 'tool-call')).toMatchObject({
      input: '[input of tool "fetch_tree" nested more than 512 levels deep, not kept]',
    })
    expect(JSON.stringify(events).length).toBeLessThan(10_000)
  })

  it('refuses the call again when a run resumes from a checkpoint holding it', async () => {
    const store = makeStore()
    const runnerOn = () =>
      new ScriptedRunner({ activity: createActivityTracker({ store }), retry: { attempts: 1 } })
    let echoed = 0
    // Accepts any input: only the depth refusal keeps it from running with the stand-in text.
    const echo = defineTool({
      name: 'echo',
      description: 'Echoes',
      inputSchema: z.unknown(),
      execute: () => {
        echoed++
        return 'echoed'
      },
    })
    const { tool: approved, calls: approvedCalls } = fetchTool(() => 'fetched', { needsApproval: true })
    const first = await runnerOn().run(
      {
        model: new ScriptedModel([
          {
            toolCalls: [
              { name: 'echo', input: nested(5_000), id: 'call-deep' },
              { name: 'fetch_tree', input: {}, id: 'call-approve' },
            ],
          },
        ]),
        tools: [echo, approved],
      },
      'Go',
    )
    expect(first.status).toBe('waiting')
    const checkpoint = (await store.getRun(first.agentId))?.checkpoint?.state as { toolCalls: unknown[] }
    expect(checkpoint.toolCalls[0]).toEqual({
      toolCallId: 'call-deep',
      toolName: 'echo',
      input: '[input of tool "echo" nested more than 512 levels deep, not kept]',
    })
    const second = runnerOn()
    await second.approve(first.agentId, 'call-approve')
    const model = new ScriptedModel([{ text: 'Done' }])
    const done = await second.resume({ model, tools: [echo, approved] }, first.agentId)
    expect(done).toMatchObject({ status: 'complete', text: 'Done' })
    expect(echoed).toBe(0)
    expect(approvedCalls()).toBe(1)
    expect(model.calls[0]?.messages).toContain(
      'echo: Invalid input for tool "echo": (input) is nested more than 512 levels deep (the limit); flatten it. Call it again with arguments that match its schema.',
    )
  })
})
