import { z } from 'zod'
import { type InvalidOptionIssue, InvalidOptionsError } from '../errors/invalid-options-error.js'

/**
 * Turns zod issues into `{ field, message }` pairs with dotted paths prefixed by `prefix`. An
 * unknown key (a typo such as `prority`) is named as the field itself, with the known keys of
 * `schema` when it is an object schema.
 */
export function zodIssues(error: z.ZodError, prefix = '', schema?: z.ZodType): InvalidOptionIssue[] {
  const known = schema instanceof z.ZodObject ? Object.keys(schema.shape).join(', ') : undefined
  const fieldOf = (path: ReadonlyArray<PropertyKey>) =>
    [prefix, path.map(String).join('.')].filter(Boolean).join('.') || '(root)'
  return error.issues.flatMap((issue): InvalidOptionIssue[] => {
    if (issue.code === 'unrecognized_keys') {
      const list = issue.path.length === 0 && known ? ` (known: ${known})` : ''
      return issue.keys.map((key) => ({
        field: fieldOf([...issue.path, key]),
        message: `is not an option${list}`,
      }))
    }
    return [{ field: fieldOf(issue.path), message: issue.message }]
  })
}

/**
 * Parses `value` with `schema` or throws `InvalidOptionsError` naming every bad field (`subject`
 * names what was checked: "run options", "agent"). Adapters use it to validate their own options
 * the way core does.
 */
export function parseOrThrow<T extends z.ZodType>(
  schema: T,
  value: unknown,
  subject: string,
  prefix = '',
): z.output<T> {
  const result = schema.safeParse(value)
  if (!result.success) throw new InvalidOptionsError(zodIssues(result.error, prefix, schema), { subject })
  return result.data
}
