import { describe, expect, it } from 'vitest'
import { toJson } from './to-json.js'

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
})
