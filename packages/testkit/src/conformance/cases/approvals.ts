import { expect } from 'vitest'
import { searchTool, sendEmailTool } from '../suite-tools.js'
import { answer, logOf, settles, start, textOf } from './case-helpers.js'
import type { ConformanceCase } from './conformance-case.js'
import {
  approvalAnswer,
  approvalAsk,
  approvalScenario,
  approvalUsage,
  requestText,
  requireDurable,
  requireReopen,
  statusesOf,
  suspendOnApproval,
} from './durable-helpers.js'

export const approvalApprove: ConformanceCase = {
  id: 'durable.approval-approve',
  group: 'durable runs',
  title:
    'a call that needs approval suspends the run (waiting, pending in the store); approved, it resumes and the tool runs once',
  when: 'durable',
  async run(context) {
    const { settleMs } = context
    const opened = await context.harness()
    const { harness, activity } = opened
    requireDurable(context, harness)
    const agentId = 'conf-approval-approve'
    const search = searchTool()
    const email = sendEmailTool()
    const { agent, player } = await start(harness, approvalScenario(), [search.tool, email.tool])
    const pending = await suspendOnApproval(opened, agent, agentId, settleMs)
    expect(email.sent, 'a tool that needs approval does not run while the run waits').toEqual([])
    expect(
      search.queries,
      'the calls of the same answer that need no approval run before the run waits',
    ).toEqual(['otters'])

    await harness.runner.approve(agentId, pending.id, { by: 'conformance' })
    const result = await settles(
      harness.runner.resume(agent, agentId),
      settleMs,
      'resume after runner.approve must resolve',
    )
    expect(textOf(result).trim(), 'an approved run resumes and ends with the answer of the scenario').toBe(
      answer,
    )
    expect(
      email.sent,
      'the approved tool runs exactly once, with the model’s input and the idempotency key <agentId>:<toolCallId> in its context',
    ).toEqual([{ to: 'ada@example.org', idempotencyKey: `${agentId}:${pending.id}` }])
    expect(
      search.queries,
      'a call that completed before the wait is journaled and not run again when the run resumes',
    ).toEqual(['otters'])
    expect(result.turns, 'turns go on across the wait: 1 before, 1 after (2)').toBe(2)
    expect(
      result.usage,
      'result.usage of a resumed run sums every model call, before and after the wait',
    ).toMatchObject(approvalUsage)
    player.assertDone()
    const detail = await activity.detail(agentId)
    expect(
      statusesOf(detail),
      `a run that waited once goes queued -> running -> waiting -> running -> complete (log: ${logOf(detail)})`,
    ).toEqual(['queued', 'running', 'waiting', 'running', 'complete'])
    expect(
      detail.log.some((entry) => entry.kind === 'resume'),
      `the activity log shows the resume: an entry of kind 'resume' (log: ${logOf(detail)})`,
    ).toBe(true)
  },
}

export const approvalDeny: ConformanceCase = {
  id: 'durable.approval-deny',
  group: 'durable runs',
  title:
    'a denied call never runs: the model reads the denial and its reason (core\'s loop: "Tool call denied: <reason>") and the run completes',
  when: 'durable',
  async run(context) {
    const { settleMs } = context
    const opened = await context.harness()
    const { harness, activity } = opened
    requireDurable(context, harness)
    const agentId = 'conf-approval-deny'
    const search = searchTool()
    const email = sendEmailTool()
    const { agent, player } = await start(harness, approvalScenario(), [search.tool, email.tool])
    const pending = await suspendOnApproval(opened, agent, agentId, settleMs)
    const result = await settles(
      harness.runner.resume(agent, agentId, {
        decisions: { [pending.id]: { type: 'deny', reason: 'not today' } },
      }),
      settleMs,
      'resume with a deny decision must resolve',
    )
    expect(textOf(result).trim(), 'a run whose call was denied goes on and ends with the answer').toBe(answer)
    expect(email.sent, 'a denied tool call never runs').toEqual([])
    // Core's loop words it "Tool call denied: <reason>"; a framework with its own approval (the
    // AI SDK's `execution-denied` result) sends its native form. Either way the model reads why.
    expect(
      requestText(player.calls.at(-1)?.request),
      'the model reads the denial, with its reason, as the result of the denied call',
    ).toContain('not today')
    player.assertDone()
    expect((await activity.detail(agentId)).status, 'a run resumed after a denial ends complete').toBe(
      'complete',
    )
  },
}

export const approvalEdit: ConformanceCase = {
  id: 'durable.approval-edit',
  group: 'durable runs',
  title: 'a call approved with edited input runs with the edited input',
  when: 'durable',
  async run(context) {
    const { settleMs } = context
    const opened = await context.harness()
    const { harness } = opened
    requireDurable(context, harness)
    const agentId = 'conf-approval-edit'
    const search = searchTool()
    const email = sendEmailTool()
    const { agent } = await start(harness, approvalScenario(), [search.tool, email.tool])
    const pending = await suspendOnApproval(opened, agent, agentId, settleMs)
    await harness.runner.approve(agentId, pending.id, { input: { to: 'grace@example.org' } })
    const result = await settles(
      harness.runner.resume(agent, agentId),
      settleMs,
      'resume after an approval with edited input must resolve',
    )
    expect(textOf(result).trim(), 'a run approved with edited input ends with the answer').toBe(answer)
    expect(
      email.sent.map((sent) => sent.to),
      'a call approved with edited input runs once, with the edited input, not the model’s',
    ).toEqual(['grace@example.org'])
  },
}

export const approvalAcrossInstances: ConformanceCase = {
  id: 'durable.suspend-across-instances',
  group: 'durable runs',
  title: 'a run suspended on one runner instance is approved and resumed on another over the same store',
  when: 'durable',
  async run(context) {
    const { settleMs } = context
    const first = await context.harness()
    requireDurable(context, first.harness)
    requireReopen(context, first)
    const agentId = 'conf-approval-across'
    const search = searchTool()
    const email = sendEmailTool()
    const asking = await start(first.harness, approvalAsk(), [search.tool, email.tool])
    const pending = await suspendOnApproval(first, asking.agent, agentId, settleMs)

    const second = await context.reopen(first)
    const answering = await start(second.harness, approvalAnswer(), [search.tool, email.tool])
    await second.harness.runner.approve(agentId, pending.id, { by: 'conformance' })
    const result = await settles(
      second.harness.runner.resume(answering.agent, agentId),
      settleMs,
      'resume on another runner instance must resolve',
    )
    expect(
      textOf(result).trim(),
      'a run approved and resumed on another instance ends with the answer of the scenario',
    ).toBe(answer)
    expect(
      email.sent.map((sent) => sent.to),
      'the call approved on the other instance runs there, exactly once',
    ).toEqual(['ada@example.org'])
    expect(search.queries, 'a call journaled by the first instance is not run again by the second').toEqual([
      'otters',
    ])
    expect(result.turns, 'turns go on across instances: 1 before the wait, 1 after (2)').toBe(2)
    expect(result.usage, 'result.usage sums the model calls of both instances').toMatchObject(approvalUsage)
    const told = requestText(answering.player.calls[0]?.request)
    expect(
      told,
      'the second instance gives the model the journaled result of the call that ran before the wait',
    ).toContain('results for otters')
    expect(told, 'the second instance gives the model the result of the approved call').toContain(
      'sent to ada@example.org',
    )
    answering.player.assertDone()
    const detail = await second.activity.detail(agentId)
    expect(detail.status, 'a run resumed on another instance ends its activity complete').toBe('complete')
  },
}
