import type { RecordedRequest } from '@runner/testkit'
import OpenAI from 'openai'

/** A real OpenAI client on a protocol fake, with the SDK's own HTTP retries off unless asked for. */
export function fakeClient(
  baseURL: string,
  options: { maxRetries?: number; fetch?: typeof fetch } = {},
): OpenAI {
  return new OpenAI({
    apiKey: 'test-key',
    baseURL,
    maxRetries: options.maxRetries ?? 0,
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
