import type { ConfigIssue } from '../errors/config-error.js'
import { registerSecret } from '../util/secrets.js'

/** The environment a config file's `${NAME}` references read: `process.env` or any plain object of strings. */
export type InterpolationEnv = Readonly<Record<string, string | undefined>>

/** `$$` (a literal `$`), or `${...}` up to the first `}`, or an unclosed `${`. */
const reference = /\$\$|\$\{([^}]*)\}|\$\{/g
const variable = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/

/** Variables whose values are credentials by their name: `OPENAI_API_KEY`, `GITHUB_TOKEN`, `DB_PASSWORD`... */
const secretName = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL/i

/** A dotted key path (`runners.research.apiKey`, list items by index). */
export function keyPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map(String).join('.') || '(root)'
}

/**
 * `value` with every `${NAME}` and `${NAME:-default}` in its string values (at any depth; keys are
 * left alone) replaced by the variable from `env`. A variable that is unset or empty takes its
 * default, and without one is an issue naming the key path and the variable, never a value. `$$`
 * writes a literal `$`. Issues are collected, not thrown: every missing variable is reported.
 * The value of a variable named like a credential (`*KEY*`, `*TOKEN*`, `*SECRET*`, `*PASSWORD*`,
 * `*CREDENTIAL*`) is registered with `registerSecret`, so that runs redact it wherever they write.
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
    // fromEntries defines own properties: a `__proto__` key stays a key, never a prototype.
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateEnv(item, env, issues, [...path, key])]),
    )
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
    if (set !== undefined && set !== '') {
      if (secretName.test(name)) registerSecret(set)
      return set
    }
    if (fallback !== undefined) return fallback
    issues.push({ key, message: `\${${name}} is not set` })
    return match
  })
}
