import { ActivityNotFoundError, DecisionError, type DecisionInput, InvalidOptionsError } from '@runner/core'
import type { PendingRequestInput } from '@runner/core/store'
import { describe, expect, it } from 'vitest'
import type { StoreSuite } from './context.js'
import { errorText, expectIsoTime, expectNoKey, expectRefused } from './expectations.js'

const PENDING: PendingRequestInput[] = [
  { id: 'call-1', kind: 'approval', toolName: 'send_email', input: { to: 'ops@example.com' } },
  { id: 'call-2', kind: 'approval', toolName: 'delete_file', input: { path: '/tmp/x' } },
  { id: 'ask-1', kind: 'input', payload: { question: 'Which region?' } },
]

/**
 * `decide`: a decision on one pending request of a waiting run, recorded atomically. Refused with
 * `DecisionError`, changing nothing, when the run is not waiting, the request is not pending, it
 * was decided already, or the decision does not fit the request's kind.
 */
export function decideCases(suite: StoreSuite): void {
  describe('decide', () => {
    /** A run waiting on PENDING. */
    const waitingRun = async (agentId = 'a1') => {
      await suite.createIn(agentId, 'running')
      await suite.store.append(agentId, {
        status: 'waiting',
        message: 'Waiting for approval',
        pending: PENDING,
      })
    }

    it.each<[string, string, DecisionInput]>([
      ['approves', 'call-1', { type: 'approve', reason: 'looks right', by: 'alice' }],
      [
        'approves with an edited input',
        'call-1',
        { type: 'approve', input: { to: 'team@example.com' }, by: 'alice' },
      ],
      ['denies', 'call-2', { type: 'deny', reason: 'never delete', by: 'bob' }],
      ['responds to an input request', 'ask-1', { type: 'respond', value: { region: 'eu', note: 'ünï' } }],
      ['responds with null', 'ask-1', { type: 'respond', value: null }],
    ])('%s, stamping the decision, and changes nothing else', async (_case, requestId, decision) => {
      await waitingRun()
      const before = await suite.store.get('a1')
      const record = await suite.store.decide('a1', requestId, decision)
      const decided = record.pending?.find((request) => request.id === requestId)
      expect(
        decided?.decision,
        `decide records the decision on ${requestId} as given, with its time`,
      ).toEqual({
        ...decision,
        at: expect.any(String),
      })
      expectIsoTime(decided!.decision!.at, 'decision.at')
      for (const request of record.pending!) {
        if (request.id !== requestId)
          expectNoKey(request, 'decision', `the request ${request.id}, not decided`)
      }
      expect(
        record.pending!.map(({ decision: _decision, ...request }) => request),
        'the pending requests themselves are unchanged, in order',
      ).toEqual(PENDING)
      expect(record.status, 'decide does not move the run: it stays waiting until it resumes').toBe('waiting')
      expect(await suite.store.getRun('a1'), 'getRun returns the record decide returned').toEqual(record)
      expect(await suite.store.get('a1'), 'decide writes no log entry').toEqual(before)
    })

    it('refuses a decision on a run that is not waiting, with DecisionError, changing nothing', async () => {
      for (const status of ['queued', 'running', 'complete', 'canceled'] as const) {
        await suite.createIn(status, status)
        const before = await suite.store.getRun(status)
        const error = await expectRefused(
          suite.store.decide(status, 'call-1', { type: 'approve' }),
          DecisionError,
          `decide on a ${status} run`,
        )
        expect(error, 'the DecisionError names the run and the request').toMatchObject({
          agentId: status,
          requestId: 'call-1',
        })
        expect(
          await suite.store.getRun(status),
          `a refused decision on a ${status} run changes nothing`,
        ).toEqual(before)
      }
    })

    it('refuses a decision on a run that waited before and resumed (its requests are gone)', async () => {
      await waitingRun()
      await suite.store.append('a1', { status: 'running', message: 'Resumed' })
      await expectRefused(
        suite.store.decide('a1', 'call-2', { type: 'approve' }),
        DecisionError,
        'decide on a request of a wait that ended',
      )
    })

    it.each<[string, string, DecisionInput]>([
      ['an unknown request', 'call-9', { type: 'approve' }],
      ['respond to an approval', 'call-1', { type: 'respond', value: 'yes' }],
      ['approve an input request', 'ask-1', { type: 'approve' }],
      ['deny an input request', 'ask-1', { type: 'deny' }],
    ])('refuses %s with DecisionError, changing nothing', async (what, requestId, decision) => {
      await waitingRun()
      const before = await suite.store.getRun('a1')
      const error = await expectRefused(
        suite.store.decide('a1', requestId, decision),
        DecisionError,
        `decide: ${what}`,
      )
      expect(error, 'the DecisionError names the run and the request').toMatchObject({
        agentId: 'a1',
        requestId,
      })
      expect(await suite.store.getRun('a1'), `a refused decision (${what}) changes nothing`).toEqual(before)
    })

    it('refuses a second decision on the same request, keeping the first', async () => {
      await waitingRun()
      const first = await suite.store.decide('a1', 'call-1', { type: 'approve', by: 'alice' })
      for (const decision of [{ type: 'approve' }, { type: 'deny', by: 'mallory' }] as DecisionInput[]) {
        await expectRefused(
          suite.store.decide('a1', 'call-1', decision),
          DecisionError,
          `a second decision (${decision.type}) on a decided request`,
        )
      }
      expect(await suite.store.getRun('a1'), 'the first decision stays').toEqual(first)
    })

    it('refuses an invalid decision with InvalidOptionsError, and an unknown run with ActivityNotFoundError', async () => {
      await waitingRun()
      const before = await suite.store.getRun('a1')
      await expectRefused(
        suite.store.decide('a1', 'call-1', { type: 'maybe' } as unknown as DecisionInput),
        InvalidOptionsError,
        'decide with an unknown decision type',
      )
      expect(await suite.store.getRun('a1'), 'an invalid decision changes nothing').toEqual(before)
      await expectRefused(
        suite.store.decide('missing', 'call-1', { type: 'approve' }),
        ActivityNotFoundError,
        'decide on an unknown agentId',
      )
    })

    it('keeps every decision made at the same time on different requests', async () => {
      await waitingRun()
      await Promise.all([
        suite.store.decide('a1', 'call-1', { type: 'approve', by: 'alice' }),
        suite.store.decide('a1', 'call-2', { type: 'deny', by: 'bob' }),
        suite.store.decide('a1', 'ask-1', { type: 'respond', value: 'eu', by: 'carol' }),
      ])
      const { pending } = (await suite.store.getRun('a1'))!
      expect(
        pending?.map((request) => [request.id, request.decision?.type, request.decision?.by]),
        'concurrent decisions on different requests are all kept (none overwrites another)',
      ).toEqual([
        ['call-1', 'approve', 'alice'],
        ['call-2', 'deny', 'bob'],
        ['ask-1', 'respond', 'carol'],
      ])
    })

    it('accepts exactly one of several decisions made at the same time on one request', async () => {
      await waitingRun()
      const deciders = ['alice', 'bob', 'carol', 'dave']
      const outcomes = await Promise.allSettled(
        deciders.map((by, index) =>
          suite.store.decide('a1', 'call-1', index % 2 ? { type: 'deny', by } : { type: 'approve', by }),
        ),
      )
      const accepted = outcomes.filter((outcome) => outcome.status === 'fulfilled')
      expect(accepted, 'exactly one concurrent decision on a request is accepted').toHaveLength(1)
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') {
          expect(
            DecisionError.isInstance(outcome.reason),
            `the others are refused with DecisionError; ${errorText(outcome.reason)}`,
          ).toBe(true)
        }
      }
      const winner = deciders[outcomes.findIndex((outcome) => outcome.status === 'fulfilled')]
      expect(
        (await suite.store.getRun('a1'))!.pending![0]!.decision?.by,
        'the stored decision is the accepted one',
      ).toBe(winner)
    })
  })
}
