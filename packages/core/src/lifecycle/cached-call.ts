import { attemptOf } from './attempt-context.js'
import { currentRun } from './current.js'

/**
 * Tells the run the calling code belongs to (`currentRun()`) where the answer of its model call in
 * flight came from: a response cache (`true`) or the provider (`false`); the last call before the
 * model call ends counts. A cached call's `model-call` trajectory step says `cached: true`, its
 * `onModelCallEnd` event too, and it is priced at 0 (`usage.costUsd: 0`, nothing added to the
 * run's cost); its tokens count as the adapter reports them. For response caches that sit in an
 * SDK client's `fetch` (as `@runner/cache` does). Returns whether there was a run to tell.
 */
export function markModelCallCached(cached = true): boolean {
  const run = currentRun()
  const attempt = run ? attemptOf(run) : undefined
  if (!attempt) return false
  attempt.markModelCallCached(cached)
  return true
}
