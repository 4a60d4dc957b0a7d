// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text with ${ENV} references, not templates
import { describe, expect, it } from 'vitest'
import type { ConfigIssue } from '../errors/config-error.js'
import { interpolateEnv } from './interpolate-env.js'

describe('interpolateEnv', () => {
  it('fills strings at any depth, lists included, and leaves keys and other values alone', () => {
    const issues: ConfigIssue[] = []
    const value = interpolateEnv(
      { '${A}': ['${A}', 1, true, null, { deep: 'x-${A}-${B:-b}-$$-$x' }] },
      { A: 'a' },
      issues,
    )
    expect(value).toEqual({ '${A}': ['a', 1, true, null, { deep: 'x-a-b-$-$x' }] })
    expect(issues).toEqual([])
  })

  it('reports every unset or empty variable with its key path, once per use', () => {
    const issues: ConfigIssue[] = []
    interpolateEnv({ list: ['${GONE}', '${EMPTY}'], other: '${GONE}${GONE:-}' }, { EMPTY: '' }, issues)
    expect(issues).toEqual([
      { key: 'list.0', message: '${GONE} is not set' },
      { key: 'list.1', message: '${EMPTY} is not set' },
      { key: 'other', message: '${GONE} is not set' },
    ])
  })

  it('keeps a "__proto__" key of parsed JSON an own key, never the prototype', () => {
    const parsed = JSON.parse('{ "__proto__": { "polluted": "${A}" } }') as unknown
    const value = interpolateEnv(parsed, { A: 'yes' }, []) as Record<string, unknown>
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
    expect(Object.hasOwn(value, '__proto__')).toBe(true)
    expect((value as { polluted?: unknown }).polluted).toBeUndefined()
  })
})
