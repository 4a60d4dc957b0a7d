import type { RecordedRequest } from '@runner/testkit'
import OpenAI from 'openai'

/**
 * A real OpenAI client on a protocol fake. It keeps the SDK's own HTTP retries (default 2) unless
 * asked otherwise: the runner must switch them off for every request a run makes, and any test
 * that counts model calls then checks it did.
 */
export function fakeClient(
  baseURL: string,
  options: { maxRetries?: number; fetch?: typeof fetch } = {},
): OpenAI {
  return new OpenAI({
    apiKey: 'test-key',
    baseURL,
    ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
    // Malformed-answer cases make the SDK log the chunk it could not parse: keep test output clean.
    logLevel: 'off',
    ...(options.fetch ? { fetch: options.fetch } : {}),
  })
}

/** The tool names a recorded request offered (`[]` when it sent no `tools`), on either API. */
export function toolNamesOf(request: unknown): string[] {
  const tools = (request as RecordedRequest).body.tools as
    | Array<{ name?: string; function?: { name: string } }>
    | undefined
  return (tools ?? []).map((tool) => tool.function?.name ?? tool.name ?? '')
}
