import {
  APICallError,
  InvalidPromptError,
  JSONParseError,
  NoOutputGeneratedError,
  RetryError,
  StreamProviderError,
  ToolChoiceViolationError,
} from 'ai'
import { describe, expect, it } from 'vitest'
import { isRetryableAISDKError } from './map-error.js'

const callError = (statusCode?: number, isRetryable?: boolean) =>
  new APICallError({
    message: `status ${statusCode}`,
    url: 'https://api.invalid',
    requestBodyValues: {},
    ...(statusCode === undefined ? {} : { statusCode }),
    ...(isRetryable === undefined ? {} : { isRetryable }),
  })

describe('isRetryableAISDKError', () => {
  it.each([408, 409, 429, 500, 503, 529])('APICallError %i: yes', (status) => {
    expect(isRetryableAISDKError(callError(status))).toBe(true)
  })

  it.each([400, 401, 403, 404, 422])('APICallError %i: no', (status) => {
    expect(isRetryableAISDKError(callError(status))).toBe(false)
  })

  it('follows what the provider said (a connection cut: yes; an answer that is not JSON: no)', () => {
    expect(isRetryableAISDKError(callError(200, true))).toBe(true)
    expect(isRetryableAISDKError(callError(200, false))).toBe(false)
    expect(isRetryableAISDKError(new StreamProviderError({ message: 'overloaded', statusCode: 529 }))).toBe(
      true,
    )
    expect(isRetryableAISDKError(new StreamProviderError({ message: 'bad', statusCode: 400 }))).toBe(false)
  })

  it('a RetryError is judged by its last error, never when it gave up on an abort', () => {
    const retry = (reason: 'maxRetriesExceeded' | 'errorNotRetryable' | 'abort', lastError: unknown) =>
      new RetryError({ message: 'gave up', reason, errors: [lastError] })
    expect(isRetryableAISDKError(retry('maxRetriesExceeded', callError(503)))).toBe(true)
    expect(isRetryableAISDKError(retry('errorNotRetryable', callError(400)))).toBe(false)
    expect(isRetryableAISDKError(retry('abort', callError(503)))).toBe(false)
    expect(
      isRetryableAISDKError(
        retry('maxRetriesExceeded', Object.assign(new Error('reset'), { code: 'ECONNRESET' })),
      ),
    ).toBe(true)
  })

  it('a stream that ended early or a raw connection cut: yes; other AI SDK errors: no; others: not ours', () => {
    expect(isRetryableAISDKError(new NoOutputGeneratedError())).toBe(true)
    expect(isRetryableAISDKError(new TypeError('terminated'))).toBe(true)
    expect(isRetryableAISDKError(new JSONParseError({ text: '{', cause: new SyntaxError('x') }))).toBe(false)
    expect(isRetryableAISDKError(new InvalidPromptError({ prompt: '', message: 'empty' }))).toBe(false)
    expect(
      isRetryableAISDKError(
        new ToolChoiceViolationError({
          toolChoice: { type: 'none' },
          finishReason: 'tool-calls',
          provider: 'p',
          modelId: 'm',
          content: [],
        }),
      ),
    ).toBe(false)
    expect(isRetryableAISDKError(new Error('plain'))).toBeUndefined()
    expect(isRetryableAISDKError('text')).toBeUndefined()
  })
})
