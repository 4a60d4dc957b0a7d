export { rejectionOf, runIn } from '@runner/testkit'

/** Both ways to run: `run` (LangChain's `invoke`) and a drained `runStreamed` (`streamEvents`). */
export const modes = [
  { streamed: false, label: 'run (invoke)' },
  { streamed: true, label: 'runStreamed (streamEvents)' },
] as const

/** Waits until `condition` holds (polling every 2 ms), failing after 5 s with `what`. */
export async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within 5 s`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

/** The activity log as `status: message (percentage)` lines. */
export function logLines(activity: {
  log: Array<{ status: string; message: string; percentage: number | null }>
}) {
  return activity.log.map(
    (entry) =>
      `${entry.status}: ${entry.message}${entry.percentage === null ? '' : ` (${entry.percentage}%)`}`,
  )
}
