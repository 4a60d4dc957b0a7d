import { ValueTooLargeError } from '../errors/value-too-large-error.js'

/**
 * The deepest nesting accepted in any JSON value the runner keeps or sends (pool input, metadata,
 * tool input and output, checkpoints, results): deeper values are refused with
 * `ValueTooLargeError` before anything recursive (`JSON.stringify`, a store's JSON functions)
 * touches them. SQLite's JSON functions stop at 1,000 levels; V8's `JSON.stringify` overflows the
 * stack between 1,000 and 5,000.
 */
export const MAX_JSON_DEPTH = 512

/**
 * Throws `ValueTooLargeError` naming `field` when `value` nests objects or arrays more than
 * `limit` levels deep. Iterative: a value nested 1,000,000 deep is measured without recursion.
 * A scalar is depth 0, `{}` and `[]` depth 1. Cycles are not followed (the JSON conversion reports
 * them).
 */
export function assertJsonDepth(
  value: unknown,
  field: string,
  options: { limit?: number; subject?: string } = {},
): void {
  const limit = options.limit ?? MAX_JSON_DEPTH
  if (typeof value !== 'object' || value === null) return
  const stack: [object, number][] = [[value, 1]]
  const seen = new Set<object>()
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [object, number]
    if (depth > limit) {
      throw new ValueTooLargeError(field, 'levels', depth, limit, { subject: options.subject ?? 'value' })
    }
    if (seen.has(current)) continue
    seen.add(current)
    const children: unknown[] = Array.isArray(current) ? current : Object.values(current)
    for (const child of children) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1])
    }
  }
}
