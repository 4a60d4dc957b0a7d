import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { ValueTooLargeError } from '../errors/value-too-large-error.js'
import { assertJsonDepth, MAX_JSON_DEPTH } from './json-limits.js'

/** `levels` objects nested in one another (`{ a: { a: ... 1 } }`); 0 gives the scalar. */
function nested(levels: number, leaf: unknown = 1): unknown {
  let value = leaf
  for (let level = 0; level < levels; level++) value = { a: value }
  return value
}

/** `levels` arrays nested in one another (`[[...[]]]`). */
function nestedArrays(levels: number): unknown {
  let value: unknown[] = []
  for (let level = 1; level < levels; level++) value = [value]
  return value
}

function refusal(run: () => void): ValueTooLargeError {
  try {
    run()
  } catch (error) {
    if (ValueTooLargeError.isInstance(error)) return error
    throw error
  }
  throw new Error('expected a ValueTooLargeError')
}

describe('assertJsonDepth', () => {
  it('accepts scalars and values nested up to the limit (512), objects and arrays alike', () => {
    expect(MAX_JSON_DEPTH).toBe(512)
    for (const scalar of [null, undefined, 1, 'text', true]) {
      expect(() => assertJsonDepth(scalar, 'input')).not.toThrow()
    }
    expect(() => assertJsonDepth(nested(MAX_JSON_DEPTH), 'input')).not.toThrow()
    expect(() => assertJsonDepth(nestedArrays(MAX_JSON_DEPTH), 'input')).not.toThrow()
    expect(() => assertJsonDepth({}, 'input', { limit: 1 })).not.toThrow()
  })

  it('refuses one level more with a ValueTooLargeError naming the field, the limit and the unit', () => {
    const error = refusal(() =>
      assertJsonDepth(nested(MAX_JSON_DEPTH + 1), 'checkpoint.state', { subject: 'run record' }),
    )
    expect(InvalidOptionsError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ field: 'checkpoint.state', unit: 'levels', limit: 512, actual: 513 })
    expect(error.message).toBe(
      'Invalid run record: checkpoint.state: is nested more than 512 levels deep (the limit); flatten it',
    )
    expect(refusal(() => assertJsonDepth(nestedArrays(MAX_JSON_DEPTH + 1), 'input')).field).toBe('input')
  })

  it('measures 5,000 and 1,000,000 levels without overflowing the stack', () => {
    for (const levels of [5_000, 1_000_000]) {
      const value = nested(levels)
      expect(() => JSON.stringify(value)).toThrow(RangeError)
      expect(refusal(() => assertJsonDepth(value, 'input'))).toMatchObject({ actual: 513, limit: 512 })
    }
  })

  it('takes another limit, and its own advice', () => {
    expect(() => assertJsonDepth(nested(3), 'metadata', { limit: 3 })).not.toThrow()
    const error = refusal(() => assertJsonDepth(nested(4), 'metadata', { limit: 3, advice: 'keep it flat' }))
    expect(error).toMatchObject({ limit: 3, actual: 4 })
    expect(error.message).toMatch(/metadata: is nested more than 3 levels deep \(the limit\); keep it flat$/)
  })

  it('finds the deepest branch whichever key holds it', () => {
    const value = { shallow: 1, list: [1, 'two', { deep: nested(MAX_JSON_DEPTH - 3) }], after: {} }
    expect(() => assertJsonDepth(value, 'input')).not.toThrow()
    const deeper = { ...value, list: [1, 'two', { deep: nested(MAX_JSON_DEPTH - 2) }] }
    expect(refusal(() => assertJsonDepth(deeper, 'input')).field).toBe('input')
  })

  it('measures a shared object by its deepest use, and walks it once', () => {
    // Met first near the top, then again far down: its depth counts from the deeper place.
    const shared = nested(10)
    expect(() => assertJsonDepth([shared, nested(MAX_JSON_DEPTH - 11, shared)], 'input')).not.toThrow()
    expect(
      refusal(() => assertJsonDepth([shared, nested(MAX_JSON_DEPTH - 10, shared)], 'input')).actual,
    ).toBe(513)
    expect(
      refusal(() => assertJsonDepth([nested(MAX_JSON_DEPTH - 10, shared), shared], 'input')).actual,
    ).toBe(513)
    // 2^400 paths through 400 levels: measured at once, not path by path.
    let diamond: unknown = { leaf: true }
    for (let level = 0; level < 400; level++) diamond = { left: diamond, right: diamond }
    expect(() => assertJsonDepth(diamond, 'input')).not.toThrow()
  })

  it('does not follow a cycle (the JSON conversion reports it)', () => {
    const circular: Record<string, unknown> = { name: 'loop' }
    circular.self = { back: circular }
    expect(() => assertJsonDepth(circular, 'input')).not.toThrow()
  })
})
