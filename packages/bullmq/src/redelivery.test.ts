import type { Activity, ActivityLogEntry } from '@runner/core'
import { describe, expect, it } from 'vitest'
import { attemptAfterLoss, workerLostMessage } from './redelivery.js'

function activityWith(messages: Array<[ActivityLogEntry['status'], string]>): Activity {
  const at = new Date(0).toISOString()
  return {
    agentId: 'a',
    agentType: 'task',
    status: 'running',
    message: messages.at(-1)?.[1] ?? '',
    percentage: 0,
    metadata: {},
    createdAt: at,
    updatedAt: at,
    log: messages.map(([status, message]) => ({ status, message, percentage: null, at })),
  }
}

describe('attemptAfterLoss', () => {
  it('resumes from the attempt after the one the lost worker was running', () => {
    expect(
      attemptAfterLoss(
        activityWith([
          ['queued', 'Waiting to start'],
          ['running', 'Started'],
        ]),
        1,
      ),
    ).toBe(2)
  })

  it('counts the retries the lost worker made (Retry n/N means attempt n + 1 was running)', () => {
    const activity = activityWith([
      ['queued', 'Waiting to start'],
      ['running', 'Started'],
      ['running', 'Retry 1/3: timeout'],
      ['running', 'Searching'],
      ['running', 'Retry 2/3: rate limited'],
    ])
    expect(attemptAfterLoss(activity, 1)).toBe(4)
  })

  it('counts earlier losses, so every crash spends one attempt', () => {
    const activity = activityWith([
      ['queued', 'Waiting to start'],
      ['running', 'Started'],
      ['running', workerLostMessage(2)],
      ['running', 'Started'],
    ])
    expect(attemptAfterLoss(activity, 1)).toBe(3)
  })

  it('starts from the job’s own attempt when the log says nothing more', () => {
    expect(attemptAfterLoss(activityWith([['running', 'Started']]), 3)).toBe(4)
    expect(attemptAfterLoss(activityWith([['running', 'Started']]), 0)).toBe(2)
  })

  it('reads only the job runner’s own lines', () => {
    const activity = activityWith([
      ['running', 'Started'],
      ['running', 'Retrying the search 7/9: not ours'],
      ['running', 'The model said "Retry 5/5: no"'],
    ])
    expect(attemptAfterLoss(activity, 1)).toBe(2)
  })
})

describe('workerLostMessage', () => {
  it('says which attempt follows', () => {
    expect(workerLostMessage(2)).toBe('Worker lost; retrying (attempt 2)')
  })
})
