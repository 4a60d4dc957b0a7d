import { ValueTooLargeError } from '../errors/value-too-large-error.js'

/**
 * The deepest nesting accepted in any JSON value the runner keeps or sends (pool input, metadata,
 * tool input and output, checkpoints, results): deeper values are refused with
 * `ValueTooLargeError` before anything recursive (`JSON.stringify`, a store's JSON functions)
 * touches them. SQLite's JSON functions stop at 1,000 levels; V8's `JSON.stringify` overflows the
 * stack between 1,000 and 5,000.
 */
export const MAX_JSON_DEPTH = 512

/** One object on the path being walked, with its children not visited yet. */
interface DepthFrame {
  object: object
  children: unknown[]
  next: number
  /** Levels from this object down to its deepest descendant walked so far (itself: 1). */
  height: number
}

/** True for a value that nests (an object or an array, `null` excepted). */
function nests(value: unknown): value is object {
  return typeof value === 'object' && value !== null
}

/**
 * The nesting depth of `value` when it exceeds `limit` (the walk stops one level past it), else
 * `undefined`. A scalar is depth 0, `{}` and `[]` depth 1. Iterative, so a value nested 1,000,000
 * deep is measured without recursion; a shared (non-circular) object is walked once, and a cycle is
 * not followed (the JSON conversion reports it).
 */
export function jsonDepthOver(value: unknown, limit: number = MAX_JSON_DEPTH): number | undefined {
  if (!nests(value)) return undefined
  if (limit < 1) return 1
  /** Height of each object walked completely. */
  const heights = new Map<object, number>()
  const onPath = new Set<object>()
  const stack: DepthFrame[] = []
  const enter = (object: object): void => {
    onPath.add(object)
    stack.push({
      object,
      children: Array.isArray(object) ? object : Object.values(object),
      next: 0,
      height: 1,
    })
  }
  enter(value)
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as DepthFrame
    if (frame.next < frame.children.length) {
      const child = frame.children[frame.next++]
      if (!nests(child) || onPath.has(child)) continue
      const known = heights.get(child)
      if (known !== undefined) {
        if (stack.length + known > limit) return limit + 1
        frame.height = Math.max(frame.height, known + 1)
        continue
      }
      if (stack.length + 1 > limit) return limit + 1
      enter(child)
      continue
    }
    stack.pop()
    onPath.delete(frame.object)
    heights.set(frame.object, frame.height)
    const parent = stack[stack.length - 1]
    if (parent) parent.height = Math.max(parent.height, frame.height + 1)
  }
  return undefined
}

/**
 * Throws `ValueTooLargeError` naming `field` when `value` nests objects or arrays more than
 * `limit` levels deep. Iterative: a value nested 1,000,000 deep is measured without recursion.
 * A scalar is depth 0, `{}` and `[]` depth 1. Cycles are not followed (the JSON conversion reports
 * them); `toJSON` methods are not called (`toJson` measures what they return).
 */
export function assertJsonDepth(
  value: unknown,
  field: string,
  options: { limit?: number; subject?: string; advice?: string } = {},
): void {
  const limit = options.limit ?? MAX_JSON_DEPTH
  const depth = jsonDepthOver(value, limit)
  if (depth !== undefined) {
    throw new ValueTooLargeError(field, 'levels', depth, limit, {
      subject: options.subject ?? 'value',
      ...(options.advice === undefined ? {} : { advice: options.advice }),
    })
  }
}
