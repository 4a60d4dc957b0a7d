import { InvalidOptionsError } from '@runner/core'

/**
 * Refuses text PostgreSQL cannot store: a NUL character (`\u0000`) is rejected by `text` and
 * `jsonb` columns alike. Checks strings and object keys, however deep; throws `InvalidOptionsError`
 * naming the first field that holds one, before anything is written.
 */
export function assertStorable(fields: Record<string, unknown>, subject: string): void {
  for (const [field, value] of Object.entries(fields)) {
    const path = nulPath(value, field, new Set())
    if (path !== undefined) {
      throw new InvalidOptionsError(
        [
          {
            field: path,
            message: 'contains a NUL character (\\u0000), which PostgreSQL cannot store; remove it',
          },
        ],
        { subject },
      )
    }
  }
}

function nulPath(value: unknown, path: string, seen: Set<object>): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined
  if (typeof value !== 'object' || value === null || seen.has(value)) return undefined
  seen.add(value)
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return nulPath((value as { toJSON: () => unknown }).toJSON(), path, seen)
  }
  for (const [key, item] of Object.entries(value)) {
    const child = `${path}.${key}`
    if (key.includes('\u0000')) return child
    const found = nulPath(item, child, seen)
    if (found !== undefined) return found
  }
  return undefined
}
