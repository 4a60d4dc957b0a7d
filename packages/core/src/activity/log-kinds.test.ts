import { describe, expect, it } from 'vitest'
import { ACTIVITY_LOG_KINDS } from './log-kinds.js'

describe('ACTIVITY_LOG_KINDS', () => {
  it('lists every kind of log entry the contract names, once', () => {
    expect(ACTIVITY_LOG_KINDS).toEqual(['lifecycle', 'progress', 'retry', 'fallback', 'resume', 'approval'])
  })
})
