import { MAX_JSON_DEPTH } from '../util/json-limits.js'
import type { JsonValue } from './types.js'

/** Result of `toJson`: the JSON copy, or where and why the value is not JSON. */
export type ToJsonResult =
  | { ok: true; value: JsonValue | undefined }
  | {
      ok: false
      /**
       * Dotted path of the offending value inside the given one (`""` for the value itself). For a
       * value nested too deep, its first segments then `…`.
       */
      path: string
      /** What is wrong with it. */
      problem: string
      /** Set when the value nests deeper than the limit: the limit, and the depth reached (one past it). */
      tooDeep?: { limit: number; depth: number }
    }

/** Path segments kept in the path of a value nested too deep. */
const tooDeepPathSegments = 8

/**
 * A deep copy of `value` as `JSON.parse(JSON.stringify(value))` would make it (`toJSON` honoured,
 * `undefined` properties dropped, `undefined` array items and holes as `null`), but refusing what
 * JSON would silently lose or cannot encode: functions, symbols, BigInts, NaN and Infinity, Maps,
 * Sets, binary data and cycles, and values nested more than `maxDepth` levels (default
 * `MAX_JSON_DEPTH`, 512). Iterative: a value nested 1,000,000 deep is refused without recursion.
 * Job inputs and results go through it, so that the local engine behaves as a distributed one would.
 */
export function toJson(value: unknown, options: { maxDepth?: number } = {}): ToJsonResult {
  const limit = options.maxDepth ?? MAX_JSON_DEPTH
  const stack: Frame[] = []
  /** The objects on the path being copied: one met again is a cycle. */
  const onPath = new Set<object>()
  const pathTo = (key: string | undefined): string[] => {
    const path = stack.slice(1).map((frame) => frame.key)
    if (key !== undefined && stack.length > 0) path.push(key)
    return path
  }

  /** Copies a scalar, or opens a frame for an object or array (its copy filled as the walk goes). */
  const visit = (raw: unknown, key: string): Visit => {
    let current = raw
    if (
      typeof current === 'object' &&
      current !== null &&
      typeof (current as ToJsonable).toJSON === 'function'
    ) {
      current = (current as ToJsonable).toJSON(key)
    }
    switch (typeof current) {
      case 'string':
      case 'boolean':
        return { value: current }
      case 'undefined':
        return { value: undefined }
      case 'number':
        if (!Number.isFinite(current)) return { problem: `is ${current}, which JSON turns into null` }
        return { value: current }
      case 'bigint':
        return { problem: 'is a BigInt, which JSON cannot encode; use a string or a number' }
      case 'function':
        return { problem: 'is a function, which JSON drops' }
      case 'symbol':
        return { problem: 'is a symbol, which JSON drops' }
    }
    if (current === null) return { value: null }
    const object = current as object
    if (object instanceof Map || object instanceof Set) {
      return {
        problem: `is a ${object instanceof Map ? 'Map' : 'Set'}, which JSON turns into {}; use an object or an array`,
      }
    }
    if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer) {
      return { problem: 'is binary data, which JSON cannot encode faithfully; use a base64 string' }
    }
    if (onPath.has(object)) return { problem: 'is a circular reference' }
    if (stack.length + 1 > limit) return { tooDeep: true }
    onPath.add(object)
    if (Array.isArray(object)) {
      const entries: [string, unknown][] = []
      for (let index = 0; index < object.length; index++) entries.push([String(index), object[index]])
      stack.push({ object, key, entries, next: 0, copy: [] })
    } else {
      stack.push({ object, key, entries: Object.entries(object), next: 0, copy: {} })
    }
    return { opened: true }
  }

  const failure = (visited: Visit, key: string | undefined): ToJsonResult | undefined => {
    if ('problem' in visited) return { ok: false, path: pathTo(key).join('.'), problem: visited.problem }
    if ('tooDeep' in visited) {
      const path = pathTo(key)
      const shown =
        path.length > tooDeepPathSegments
          ? `${path.slice(0, tooDeepPathSegments).join('.')}…`
          : path.join('.')
      return {
        ok: false,
        path: shown,
        problem: `is nested more than ${limit} levels deep (the limit)`,
        tooDeep: { limit, depth: limit + 1 },
      }
    }
    return undefined
  }

  const root = visit(value, '')
  const refused = failure(root, undefined)
  if (refused) return refused
  if ('value' in root) return { ok: true, value: root.value }
  for (;;) {
    const frame = stack[stack.length - 1] as Frame
    if (frame.next < frame.entries.length) {
      const [key, child] = frame.entries[frame.next++] as [string, unknown]
      const visited = visit(child, key)
      const childFailure = failure(visited, key)
      if (childFailure) return childFailure
      if ('value' in visited) place(frame, key, visited.value)
      continue
    }
    stack.pop()
    onPath.delete(frame.object)
    const parent = stack[stack.length - 1]
    if (!parent) return { ok: true, value: frame.copy }
    place(parent, frame.key, frame.copy)
  }
}

/** An object or array being copied: its entries, the next one to copy, and the copy so far. */
interface Frame {
  object: object
  /** Its key in its parent (`""` for the value itself). */
  key: string
  entries: [string, unknown][]
  next: number
  copy: JsonValue[] | Record<string, JsonValue>
}

type Visit = { value: JsonValue | undefined } | { problem: string } | { tooDeep: true } | { opened: true }

/** Puts a copied child into its parent's copy: `undefined` is `null` in an array, left out of an object. */
function place(frame: Frame, key: string, value: JsonValue | undefined): void {
  if (Array.isArray(frame.copy)) frame.copy.push(value ?? null)
  else if (value !== undefined) frame.copy[key] = value
}

interface ToJsonable {
  toJSON(key: string): unknown
}
