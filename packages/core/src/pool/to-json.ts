import type { JsonValue } from './types.js'

/** Result of `toJson`: the JSON copy, or where and why the value is not JSON. */
export type ToJsonResult =
  | { ok: true; value: JsonValue | undefined }
  | {
      ok: false
      /** Dotted path of the offending value inside the given one (`""` for the value itself). */
      path: string
      /** What is wrong with it. */
      problem: string
    }

/**
 * A deep copy of `value` as `JSON.parse(JSON.stringify(value))` would make it (`toJSON` honoured,
 * `undefined` properties dropped), but refusing what JSON would silently lose or cannot encode:
 * functions, symbols, BigInts, NaN and Infinity, Maps, Sets, binary data and cycles. Job inputs and
 * results go through it, so that the local engine behaves as a distributed one would.
 */
export function toJson(value: unknown): ToJsonResult {
  try {
    return { ok: true, value: convert(value, '', [], new Set()) }
  } catch (error) {
    if (error instanceof NotJson) return { ok: false, path: error.path.join('.'), problem: error.problem }
    throw error
  }
}

class NotJson {
  readonly path: string[]
  readonly problem: string

  constructor(path: string[], problem: string) {
    this.path = path
    this.problem = problem
  }
}

function convert(value: unknown, key: string, path: string[], seen: Set<object>): JsonValue | undefined {
  let current = value
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
      return current
    case 'undefined':
      return undefined
    case 'number':
      if (!Number.isFinite(current)) throw new NotJson(path, `is ${current}, which JSON turns into null`)
      return current
    case 'bigint':
      throw new NotJson(path, 'is a BigInt, which JSON cannot encode; use a string or a number')
    case 'function':
      throw new NotJson(path, 'is a function, which JSON drops')
    case 'symbol':
      throw new NotJson(path, 'is a symbol, which JSON drops')
  }
  if (current === null) return null
  const object = current as object
  if (object instanceof Map || object instanceof Set) {
    throw new NotJson(
      path,
      `is a ${object instanceof Map ? 'Map' : 'Set'}, which JSON turns into {}; use an object or an array`,
    )
  }
  if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer) {
    throw new NotJson(path, 'is binary data, which JSON cannot encode faithfully; use a base64 string')
  }
  if (seen.has(object)) throw new NotJson(path, 'is a circular reference')
  seen.add(object)
  try {
    if (Array.isArray(object)) {
      return object.map((item, index) => convert(item, String(index), [...path, String(index)], seen) ?? null)
    }
    const copy: Record<string, JsonValue> = {}
    for (const [entryKey, entryValue] of Object.entries(object)) {
      const converted = convert(entryValue, entryKey, [...path, entryKey], seen)
      if (converted !== undefined) copy[entryKey] = converted
    }
    return copy
  } finally {
    seen.delete(object)
  }
}

interface ToJsonable {
  toJSON(key: string): unknown
}
