import { scenario } from '@runner/testkit'
import { describe, expect, it } from 'vitest'
import { claudeOnFake } from './test-helpers/harness.js'

/** The frames of an SSE body: `event:` name and parsed `data:` of each. */
async function framesOf(
  response: Response,
): Promise<Array<{ event: string; data: Record<string, unknown> }>> {
  const text = await response.text()
  return text
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => {
      const lines = frame.split('\n')
      const event = lines.find((line) => line.startsWith('event: '))?.slice('event: '.length) ?? ''
      const data = lines.find((line) => line.startsWith('data: '))?.slice('data: '.length) ?? 'null'
      return { event, data: JSON.parse(data) as Record<string, unknown> }
    })
}

describe('ClaudeRunner errors on the wire (toSSEResponse)', () => {
  it.each([
    [529, 'Overloaded', 'OverloadedError', '529 overloaded_error: Overloaded'],
    [400, 'max_tokens: too large', 'BadRequestError', '400 invalid_request_error: max_tokens: too large'],
  ])(
    'a %i: the run-error frame carries the class name, the short message and the status, no raw body',
    async (status, message, name, shown) => {
      await using claude = await claudeOnFake()
      const { model } = claude.fake.play(scenario().error(status, message))
      const stream = claude.runner.runStreamed({ model, maxTokens: 100 }, 'q', { retry: { attempts: 1 } })
      const frames = await framesOf(stream.toSSEResponse())
      const runError = frames.find((frame) => frame.event === 'run-error')
      expect(runError?.data).toEqual({ type: 'run-error', error: { name, message: shown, status } })
    },
  )

  it('a retry frame carries its error the same way', async () => {
    await using claude = await claudeOnFake()
    const { model } = claude.fake.play(scenario().error(529, 'Overloaded').text('Recovered.'))
    const stream = claude.runner.runStreamed({ model, maxTokens: 100 }, 'q', {
      retry: { initialDelayMs: 1, maxDelayMs: 5 },
    })
    const frames = await framesOf(stream.toSSEResponse())
    const retry = frames.find((frame) => frame.event === 'retry')
    expect(retry?.data).toMatchObject({
      type: 'retry',
      attempt: 2,
      restart: false,
      error: { name: 'OverloadedError', message: '529 overloaded_error: Overloaded', status: 529 },
    })
    expect(Object.keys(retry?.data.error as object).sort()).toEqual(['message', 'name', 'status'])
    expect(frames.at(-1)?.event).toBe('run-end')
  })
})
