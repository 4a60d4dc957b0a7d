import { describe, expect, it } from 'vitest'
import { createActivityTracker } from '../activity/tracker.js'
import { RunCanceledError } from '../errors/run-canceled-error.js'
import { ScriptedModel, ScriptedRunner } from '../test/scripted-runner.js'
import type { RunEvent } from './events.js'

function setup() {
  const activity = createActivityTracker()
  return { activity, runner: new ScriptedRunner({ activity }) }
}

const types = (events: ReadonlyArray<IteratorResult<RunEvent>>) =>
  events.map((result) => (result.done ? 'done' : result.value.type))

describe('RunStream readers', () => {
  it('reads asked for without waiting for the previous one are answered in order, each event once', async () => {
    const { runner } = setup()
    const stream = runner.runStreamed({ model: new ScriptedModel([{ text: 'Hello there, reader' }]) }, 'x')
    const reader = stream[Symbol.asyncIterator]()
    const results = await Promise.all(Array.from({ length: 12 }, () => reader.next()))
    const all: RunEvent[] = []
    for await (const event of stream) all.push(event)
    const expected = [...all.map((event) => event.type), 'done', 'done', 'done', 'done']
    expect(types(results)).toEqual(expected.slice(0, 12))
    await stream.result
  })

  it('a reader that returns while a read waits ends that read and cancels the run', async () => {
    const { activity, runner } = setup()
    const model = new ScriptedModel([{ hang: true }])
    const stream = runner.runStreamed({ model }, 'x', { agentId: 'r1' })
    const reader = stream[Symbol.asyncIterator]()
    const read: Array<IteratorResult<RunEvent>> = []
    // Reads until the buffer is empty and the next read waits for the model.
    for (;;) {
      const pending = reader.next()
      const settled = await Promise.race([
        pending,
        new Promise((resolve) => setTimeout(resolve, 20, 'waiting')),
      ])
      if (settled === 'waiting') {
        await expect(reader.return?.()).resolves.toEqual({ value: undefined, done: true })
        await expect(pending).resolves.toEqual({ value: undefined, done: true })
        break
      }
      read.push(settled as IteratorResult<RunEvent>)
    }
    expect(types(read)[0]).toBe('run-start')
    await expect(stream.result).rejects.toSatisfy(RunCanceledError.isInstance)
    expect((await activity.detail('r1')).status).toBe('canceled')
    await expect(reader.next()).resolves.toEqual({ value: undefined, done: true })
  })

  it('a reader that starts after the end replays every event, and returning then cancels nothing', async () => {
    const { runner } = setup()
    const stream = runner.runStreamed({ model: new ScriptedModel([{ text: 'done' }]) }, 'x')
    const result = await stream.result
    const events: RunEvent[] = []
    for await (const event of stream) events.push(event)
    expect(events[0]?.type).toBe('run-start')
    expect(events.at(-1)).toEqual({ type: 'run-end', result })
    const reader = stream[Symbol.asyncIterator]()
    await reader.next()
    await reader.return?.()
    await expect(stream.result).resolves.toBe(result)
  })
})
