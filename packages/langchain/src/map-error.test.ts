import { stampRetryable } from '@langchain/core/errors'
import { GraphRecursionError } from '@langchain/langgraph'
import { MaxTurnsExceededError, RunCanceledError, RunTimeoutError } from '@runner/core'
import { describe, expect, it } from 'vitest'
import { isRetryableLangChainError, normalizeError, readableMessage } from './map-error.js'

const attempt = {
  maxTurns: 3,
  turns: 2,
  recursionLimit: 8,
  stepsPerTurn: 2,
  startedAt: performance.now() - 1500,
}

describe('normalizeError', () => {
  it('GraphRecursionError -> MaxTurnsExceededError naming the limit, with the cause', () => {
    const cause = new GraphRecursionError('Recursion limit of 8 reached', {
      lc_error_code: 'GRAPH_RECURSION_LIMIT',
    })
    const error = normalizeError(cause, attempt)
    expect(MaxTurnsExceededError.isInstance(error)).toBe(true)
    expect((error as MaxTurnsExceededError).maxTurns).toBe(3)
    expect((error as Error).message).toContain(
      'recursion limit (8 super-steps, for maxTurns 3 at 2 steps per turn) after 2 model call(s)',
    )
    expect((error as Error).cause).toBe(cause)
  })

  it('an abort from elsewhere -> RunCanceledError; a DOMException timeout -> RunTimeoutError with the time it ran', () => {
    const aborted = new DOMException('This operation was aborted', 'AbortError')
    const canceled = normalizeError(aborted, attempt)
    expect(RunCanceledError.isInstance(canceled)).toBe(true)
    expect((canceled as RunCanceledError).reason).toBe(aborted)
    const sdkAbort = Object.assign(new Error('Request was aborted.'), { name: 'AbortError' })
    expect(RunCanceledError.isInstance(normalizeError(sdkAbort, attempt))).toBe(true)
    const timedOut = normalizeError(new DOMException('The operation timed out.', 'TimeoutError'), attempt)
    expect(RunTimeoutError.isInstance(timedOut)).toBe(true)
    expect((timedOut as RunTimeoutError).timeoutMs).toBeGreaterThanOrEqual(1500)
  })

  it('an HTTP client timeout (ChatOpenAI’s TimeoutError, not a DOMException) and other errors stay as they are', () => {
    const clientTimeout = Object.assign(new Error('Request timed out.'), { name: 'TimeoutError' })
    expect(normalizeError(clientTimeout, attempt)).toBe(clientTimeout)
    const other = new Error('boom')
    expect(normalizeError(other, attempt)).toBe(other)
  })
})

describe('isRetryableLangChainError', () => {
  it('LangChain’s retryable mark first, then HTTP status and network codes; never an abort', () => {
    expect(
      isRetryableLangChainError(stampRetryable(Object.assign(new Error('x'), { status: 500 }), false)),
    ).toBe(false)
    expect(isRetryableLangChainError(stampRetryable(new Error('timed out'), true))).toBe(true)
    expect(isRetryableLangChainError(Object.assign(new Error('x'), { status: 503 }))).toBe(true)
    expect(isRetryableLangChainError(Object.assign(new Error('x'), { status: 429 }))).toBe(true)
    expect(isRetryableLangChainError(Object.assign(new Error('x'), { status: 400 }))).toBe(false)
    expect(
      isRetryableLangChainError(Object.assign(new TypeError('terminated'), { code: 'UND_ERR_SOCKET' })),
    ).toBe(true)
    expect(isRetryableLangChainError(new DOMException('aborted', 'AbortError'))).toBe(false)
    expect(isRetryableLangChainError('string')).toBe(false)
  })

  it('an error event inside a stream (no status) is retried when it says the provider is overloaded or failed', () => {
    const inStream = (type: string) => Object.assign(new Error(type), { status: undefined, type })
    for (const type of ['overloaded_error', 'api_error', 'rate_limit_error', 'timeout_error'])
      expect(isRetryableLangChainError(inStream(type)), type).toBe(true)
    expect(isRetryableLangChainError(inStream('invalid_request_error'))).toBe(false)
    expect(
      isRetryableLangChainError(Object.assign(new Error('x'), { status: 400, type: 'overloaded_error' })),
    ).toBe(false)
  })
})

describe('readableMessage', () => {
  const apiError = (status: number | undefined, body: unknown, message: string) =>
    Object.assign(new Error(message), { status, error: body })
  const anthropicBody = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }

  it('a raw JSON body becomes <status> <type>: <message>; the body stays on the error', () => {
    const http = apiError(529, anthropicBody, `529 ${JSON.stringify(anthropicBody)}`)
    expect(readableMessage(http)).toBe('529 overloaded_error: Overloaded')
    const inStream = apiError(undefined, anthropicBody, JSON.stringify(anthropicBody))
    expect(readableMessage(inStream)).toBe('overloaded_error: Overloaded')
    const error = normalizeError(http, attempt)
    expect(error).toBe(http)
    expect(error).toMatchObject({
      message: '529 overloaded_error: Overloaded',
      status: 529,
      error: anthropicBody,
    })
  })

  it('LangChain’s troubleshooting link goes; a message that is readable already stays', () => {
    const linked = apiError(
      401,
      { message: 'Incorrect API key provided', type: 'invalid_request_error' },
      '401 Incorrect API key provided\n\nTroubleshooting URL: https://docs.langchain.com/oss/javascript/langchain/errors/MODEL_AUTHENTICATION/\n',
    )
    expect(readableMessage(linked)).toBe('401 Incorrect API key provided')
    expect(readableMessage(apiError(500, { message: 'boom' }, '500 boom'))).toBeUndefined()
    expect(readableMessage(new Error('{"not":"an api error"}'))).toBeUndefined()
  })
})
