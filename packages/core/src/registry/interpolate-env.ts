import type { ConfigIssue } from '../errors/config-error.js'

/** The environment a config file's `${NAME}` references read: `process.env` or any plain object of strings. */
export type InterpolationEnv = Readonly<Record<string, string | undefined>>

/** `$$` (a literal `$`), or `${...}` up to the first `}`, or an unclosed `${`. */
const reference = /\$\$|\$\{([^}]*)\}|\$\{/g
const variable = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/

/** A dotted key path (`runners.research.apiKey`, list items by index). */
export function keyPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map(String).join('.') || '(root)'
}

/**
 * `value` with every `${NAME}` and `${NAME:-default}` in its string values (at any depth; keys are
 * left alone) replaced by the variable from `env`. A variable that is unset or empty takes its
 * default, and without one is an issue naming the key path and the variable, never a value. `$$`
 * writes a literal `$`. Issues are collected, not thrown: every missing variable is reported.
 */
export function interpolateEnv(
  value: unknown,
  env: InterpolationEnv,
  issues: ConfigIssue[],
  path: ReadonlyArray<PropertyKey> = [],
): unknown {
  if (typeof value === 'string') return interpolateString(value, env, issues, keyPath(path))
  if (Array.isArray(value))
    return value.map((item, index) => interpolateEnv(item, env, issues, [...path, index]))
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value))
      out[key] = interpolateEnv(item, env, issues, [...path, key])
    return out
  }
  return value
}

function interpolateString(text: string, env: InterpolationEnv, issues: ConfigIssue[], key: string): string {
  return text.replace(reference, (match, body: string | undefined) => {
    if (match === '$$') return '$'
    if (body === undefined) {
      issues.push({ key, message: `has a "\${" without its closing "}" (write "$\${" for a literal "\${")` })
      return match
    }
    const parsed = variable.exec(body)
    if (!parsed) {
      issues.push({
        key,
        message: `has \${${body}}: write \${NAME} or \${NAME:-default}, NAME of letters, digits and "_"`,
      })
      return match
    }
    const [, name, fallback] = parsed as unknown as [string, string, string | undefined]
    const set = env[name]
    if (set !== undefined && set !== '') return set
    if (fallback !== undefined) return fallback
    issues.push({ key, message: `\${${name}} is not set` })
    return match
  })
}
