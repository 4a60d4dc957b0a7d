import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import * as aiSdk from './index.js'

describe('@runner/ai-sdk exports', () => {
  it('exports by name the runner, its helpers, and VERSION from package.json', () => {
    expect(Object.keys(aiSdk).sort()).toEqual([
      'AISDKRunner',
      'VERSION',
      'isRetryableAISDKError',
      'toAISDKStream',
      'toUIMessageStreamResponse',
    ])
    const { version } = createRequire(import.meta.url)('../package.json') as { version: string }
    expect(aiSdk.VERSION).toBe(version)
  })
})
