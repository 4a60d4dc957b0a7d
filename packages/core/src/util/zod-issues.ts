import type { z } from 'zod'
import { type InvalidOptionIssue, InvalidOptionsError } from '../errors/invalid-options-error.js'

/** Turns zod issues into `{ field, message }` pairs, with dotted paths prefixed by `prefix`. */
export function zodIssues(error: z.ZodError, prefix = ''): InvalidOptionIssue[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.')
    const field = [prefix, path].filter(Boolean).join('.') || prefix || '(root)'
    return { field, message: issue.message }
  })
}

/** Parses `value` with `schema` or throws `InvalidOptionsError` naming every bad field. */
export function parseOrThrow<T extends z.ZodType>(
  schema: T,
  value: unknown,
  subject: string,
  prefix = '',
): z.output<T> {
  const result = schema.safeParse(value)
  if (!result.success) throw new InvalidOptionsError(zodIssues(result.error, prefix), { subject })
  return result.data
}
