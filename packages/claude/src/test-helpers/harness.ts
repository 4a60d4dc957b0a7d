export { rejectionOf } from '@runner/testkit'

import Anthropic, { type ClientOptions } from '@anthropic-ai/sdk'
import type { RunEvent } from '@runner/core'
import { type ProtocolFake, type ProtocolFakeOptions, startProtocolFake } from '@runner/testkit'
import { ClaudeRunner } from '../claude-runner.js'
import type { ClaudeRunnerSettings } from '../settings.js'

/** A real Anthropic client for a loopback server: Bearer key, no SDK retries, no log noise. */
export function clientFor(baseURL: string, options: ClientOptions = {}): Anthropic {
  return new Anthropic({ apiKey: 'sk-ant-test', baseURL, maxRetries: 0, logLevel: 'off', ...options })
}

/** A protocol fake and a ClaudeRunner on it; `await using` closes the fake. */
export async function claudeOnFake(
  settings: Omit<ClaudeRunnerSettings, 'client'> & { client?: never } = {},
  options: { fake?: ProtocolFakeOptions; client?: ClientOptions } = {},
): Promise<{ fake: ProtocolFake; client: Anthropic; runner: ClaudeRunner } & AsyncDisposable> {
  const fake = await startProtocolFake(options.fake)
  const client = clientFor(fake.anthropicBaseURL, options.client)
  const runner = new ClaudeRunner({ ...(settings as object), client } as ClaudeRunnerSettings)
  return { fake, client, runner, [Symbol.asyncDispose]: () => fake.close() }
}

/** Every event of a stream. */
export async function drain(stream: AsyncIterable<RunEvent>): Promise<RunEvent[]> {
  const events: RunEvent[] = []
  for await (const event of stream) events.push(event)
  return events
}
