import { RunCanceledError } from '@runner/core'
import { expect } from 'vitest'
import { scenario } from '../../scenario/scenario.js'
import { waitForAbortTool } from '../suite-tools.js'
import { errorOf, expectCallAborted, prompt, settles, start, until } from './case-helpers.js'
import type { ConformanceCase } from './conformance-case.js'

export const cancelBeforeStart: ConformanceCase = {
  id: 'cancel.before-start',
  group: 'cancellation',
  title: 'a signal aborted before start: RunCanceledError, activity canceled, no model call',
  async run({ harness: make, settleMs }) {
    const { harness, activity } = await make()
    const { agent, player } = await start(harness, scenario().text('never'), [])
    const controller = new AbortController()
    controller.abort()
    const error = await errorOf(
      harness.runner.run(agent, harness.input(prompt), {
        agentId: 'conf-cancel-0',
        signal: controller.signal,
      }),
      settleMs,
      'a run whose signal is aborted before it starts must reject with RunCanceledError',
    )
    expect(
      RunCanceledError.isInstance(error),
      `a run whose signal is aborted before it starts rejects with RunCanceledError (got ${String(error)})`,
    ).toBe(true)
    expect(player.calls, 'a run whose signal is aborted before it starts makes no model call').toHaveLength(0)
    expect(
      (await activity.detail('conf-cancel-0')).status,
      'a run whose signal is aborted before it starts ends its activity canceled',
    ).toBe('canceled')
  },
}

export const cancelDuringModelCall: ConformanceCase = {
  id: 'cancel.during-model-call',
  group: 'cancellation',
  title: 'aborting during a model call stops it: RunCanceledError, activity canceled',
  async run({ harness: make, settleMs }) {
    const { harness, activity } = await make()
    const { agent, player } = await start(harness, scenario().hang(), [])
    const controller = new AbortController()
    const running = harness.runner.run(agent, harness.input(prompt), {
      agentId: 'conf-cancel-1',
      signal: controller.signal,
    })
    running.catch(() => {})
    await until(() => player.calls.length === 1, settleMs, 'the run must make its first model call')
    controller.abort()
    const error = await errorOf(running, settleMs, 'aborting the signal during a model call must end the run')
    expect(
      RunCanceledError.isInstance(error),
      `aborting the signal during a model call rejects the run with RunCanceledError (got ${String(error)})`,
    ).toBe(true)
    await expectCallAborted(player, 0, settleMs)
    const detail = await activity.detail('conf-cancel-1')
    expect(detail.status, 'aborting the signal during a model call ends the activity canceled').toBe(
      'canceled',
    )
  },
}

export const cancelInsideTool: ConformanceCase = {
  id: 'cancel.inside-tool',
  group: 'cancellation',
  title: 'aborting inside a tool reaches the tool’s signal: RunCanceledError, activity canceled',
  async run({ harness: make, settleMs }) {
    const { harness, activity } = await make()
    const waiting = waitForAbortTool()
    const { agent } = await start(harness, scenario().toolCall('wait_for_abort', {}).text('unreachable'), [
      waiting.tool,
    ])
    const controller = new AbortController()
    const running = harness.runner.run(agent, harness.input(prompt), {
      agentId: 'conf-cancel-2',
      signal: controller.signal,
    })
    running.catch(() => {})
    await until(() => waiting.state.started, settleMs, 'the run must call the wait_for_abort tool')
    controller.abort()
    const error = await errorOf(running, settleMs, 'aborting the signal inside a tool must end the run')
    expect(
      RunCanceledError.isInstance(error),
      `aborting the signal inside a tool rejects the run with RunCanceledError (got ${String(error)})`,
    ).toBe(true)
    expect(
      waiting.state.sawAbort,
      'aborting the run’s signal aborts the signal a running tool was given',
    ).toBe(true)
    expect(
      (await activity.detail('conf-cancel-2')).status,
      'aborting the signal inside a tool ends the activity canceled',
    ).toBe('canceled')
  },
}

export const cancelConsumerBreak: ConformanceCase = {
  id: 'cancel.consumer-break',
  group: 'cancellation',
  title: 'a stream consumer that stops reading cancels the run',
  when: 'streaming',
  async run({ harness: make, settleMs }) {
    const { harness, activity } = await make()
    const script = scenario().toolCall('report_status', { message: 'Working', percentage: 10 }).hang()
    const { agent } = await start(harness, script, [])
    const stream = harness.runner.runStreamed(agent, harness.input(prompt), { agentId: 'conf-break' })
    await settles(
      (async () => {
        for await (const event of stream) if (event.type === 'tool-result') break
      })(),
      settleMs,
      'a stream yields each event as it happens: the tool-result of report_status arrives while the next model call still runs',
    )
    const error = await errorOf(
      stream.result,
      settleMs,
      'a stream consumer that stops reading must cancel the run',
    )
    expect(
      RunCanceledError.isInstance(error),
      `a stream consumer that stops reading rejects stream.result with RunCanceledError (got ${String(error)})`,
    ).toBe(true)
    expect(
      (await activity.detail('conf-break')).status,
      'a stream consumer that stops reading ends the activity canceled',
    ).toBe('canceled')
  },
}
