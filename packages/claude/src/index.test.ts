import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import * as claude from './index.js'

describe('@runner/claude exports', () => {
  it('exports by name the runner, its errors and helpers, and VERSION from package.json', () => {
    expect(Object.keys(claude).sort()).toEqual([
      'ClaudeConnectionError',
      'ClaudeMalformedResponseError',
      'ClaudeRunner',
      'ClaudeStopReasonError',
      'VERSION',
      'isRetryableClaudeError',
    ])
    const { version } = createRequire(import.meta.url)('../package.json') as { version: string }
    expect(claude.VERSION).toBe(version)
  })
})
