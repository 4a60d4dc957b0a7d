import type { RunContext } from '@runner/core'

/**
 * The SDK's options of every request a run makes: the attempt's signal (a cancel, a timeout or a
 * failed attempt stops the HTTP request), and the SDK's own retries off whatever the client's
 * `maxRetries`: the run retries a failed request itself, in place, and logs each retry on the
 * activity, so no retry happens that the activity does not show.
 */
export function requestOptions(context: RunContext): { signal: AbortSignal; maxRetries: 0 } {
  return { signal: context.signal, maxRetries: 0 }
}
