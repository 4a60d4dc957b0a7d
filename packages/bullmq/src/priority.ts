/** The highest pool priority (`EnqueueOptions.priority` runs from -1,000,000 to 1,000,000). */
const maxPoolPriority = 1_000_000

/**
 * Maps a pool priority (higher runs first, -1,000,000..1,000,000) to a BullMQ priority (1 runs
 * first): 1,000,000 -> 1, 0 -> 1,000,001, -1,000,000 -> 2,000,001, within BullMQ's limit of
 * 2,097,151. Every job gets an explicit priority, so equal priorities keep first-in first-out order
 * (BullMQ would run priority-0 jobs before every prioritized one).
 */
export function toBullMQPriority(priority: number): number {
  return maxPoolPriority + 1 - priority
}

/** The pool priority of a BullMQ priority made by `toBullMQPriority`. */
export function fromBullMQPriority(priority: number): number {
  return maxPoolPriority + 1 - priority
}
