import { describe, expect, it } from 'vitest'
import { MAX_JSON_DEPTH } from '../util/json-limits.js'
import { toJson } from './to-json.js'

/** `levels` objects nested in one another: `{ a: { a: ... leaf } }`. */
function nested(levels: number, leaf: unknown = 1): unknown {
  let value = leaf
  for (let level = 0; level < levels; level++) value = { a: value }
  return value
}

describe('toJson', () => {
  it('copies what JSON keeps, as JSON.parse(JSON.stringify()) would', () => {
    const value = {
      text: 'a',
      count: 1.5,
      flag: false,
      none: null,
      skipped: undefined,
      list: [1, undefined, { nested: true }],
      at: new Date('2030-01-01T00:00:00.000Z'),
      custom: { toJSON: () => 'custom' },
    }
    const result = toJson(value)
    expect(result).toEqual({ ok: true, value: JSON.parse(JSON.stringify(value)) })
    expect(result.ok && result.value).not.toBe(value)
  })

  it('passes undefined through (a task that returns nothing)', () => {
    expect(toJson(undefined)).toEqual({ ok: true, value: undefined })
  })

  it.each([
    ['a BigInt', { a: { b: 1n } }, 'a.b', /BigInt/],
    ['a function', { run: () => 1 }, 'run', /function/],
    ['a symbol', [Symbol('s')], '0', /symbol/],
    ['NaN', { score: Number.NaN }, 'score', /NaN/],
    ['Infinity', Number.POSITIVE_INFINITY, '', /Infinity/],
    ['a Map', { found: new Map() }, 'found', /Map/],
    ['a Set', new Set([1]), '', /Set/],
    ['binary data', { bytes: new Uint8Array(2) }, 'bytes', /binary/],
  ])('refuses %s, saying where', (_, value, path, problem) => {
    const result = toJson(value)
    expect(result.ok).toBe(false)
    if (!result.ok) {
      expect(result.path).toBe(path)
      expect(result.problem).toMatch(problem)
    }
  })

  it('refuses a cycle but accepts a shared (non-circular) reference', () => {
    const shared = { id: 1 }
    expect(toJson({ a: shared, b: shared })).toEqual({ ok: true, value: { a: { id: 1 }, b: { id: 1 } } })
    const circular: Record<string, unknown> = { name: 'loop' }
    circular.self = circular
    expect(toJson(circular)).toMatchObject({
      ok: false,
      path: 'self',
      problem: expect.stringMatching(/circular/),
    })
  })

  it('copies a value nested exactly to the limit (512 levels)', () => {
    const value = { list: [nested(MAX_JSON_DEPTH - 2)] }
    expect(toJson(value)).toEqual({ ok: true, value: JSON.parse(JSON.stringify(value)) })
  })

  it.each([[MAX_JSON_DEPTH + 1], [5_000], [1_000_000]])(
    'refuses a value nested %i levels deep, without overflowing the stack, its path cut short',
    (levels) => {
      const result = toJson(nested(levels))
      expect(result).toEqual({
        ok: false,
        path: 'a.a.a.a.a.a.a.a…',
        problem: 'is nested more than 512 levels deep (the limit)',
        tooDeep: { limit: 512, depth: 513 },
      })
    },
  )

  it('measures what toJSON returns, and takes another limit', () => {
    const deepByToJson = { toJSON: () => nested(MAX_JSON_DEPTH + 1) }
    expect(toJson(deepByToJson)).toMatchObject({ ok: false, tooDeep: { limit: 512 } })
    expect(toJson({ a: { b: [1] } }, { maxDepth: 2 })).toEqual({
      ok: false,
      path: 'a.b',
      problem: 'is nested more than 2 levels deep (the limit)',
      tooDeep: { limit: 2, depth: 3 },
    })
    expect(toJson({ a: { b: 1 } }, { maxDepth: 2 })).toEqual({ ok: true, value: { a: { b: 1 } } })
  })

  it('names the path of a problem deep inside, and keeps array holes as null', () => {
    const result = toJson(nested(300, { score: Number.NaN }))
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.path).toBe(`${'a.'.repeat(300)}score`)
    // biome-ignore lint/suspicious/noSparseArray: a hole, as JSON.stringify reads it
    const sparse = [1, , 3]
    expect(toJson(sparse)).toEqual({ ok: true, value: [1, null, 3] })
  })
})
