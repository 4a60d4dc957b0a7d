import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../errors/invalid-options-error.js'
import { assertStorableText, isStorableText, storableJsonText, storableText } from './text-policy.js'

/** Strings of code units drawn from the ones that matter: NUL, surrogates, backslashes, `u`, hex digits. */
function randomStrings(count: number): string[] {
  const units = [
    0, 0x5c, 0x75, 0x30, 0x64, 0x38, 0x61, 0x22, 0x41, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe9, 0xfffd,
  ]
  let state = 42
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648
    return state
  }
  return Array.from({ length: count }, () =>
    String.fromCharCode(...Array.from({ length: next() % 12 }, () => units[next() % units.length]!)),
  )
}

describe('text policy', () => {
  it('replaces NUL and lone surrogates by U+FFFD in free text, and keeps pairs', () => {
    expect(storableText('a\u0000b\uD800c\uDC00d\uDC00\uD800e 🚀')).toBe(
      'a\uFFFDb\uFFFDc\uFFFDd\uFFFD\uFFFDe 🚀',
    )
    const clean = 'héllo 🚀 \\u0000'
    expect(storableText(clean)).toBe(clean)
  })

  it('replaces them in JSON text exactly as in the text it encodes, whatever backslashes precede them', () => {
    for (const text of randomStrings(20_000)) {
      const json = JSON.stringify({ [text]: [text] })
      const kept = storableJsonText(json)
      expect(kept.length, 'the JSON text keeps its length').toBe(json.length)
      expect(JSON.parse(kept)).toEqual({ [storableText(text)]: [storableText(text)] })
    }
    const escaped = JSON.stringify('\\u0000 \\\\ud800 \\\u0000')
    expect(JSON.parse(storableJsonText(escaped))).toBe('\\u0000 \\\\ud800 \\\uFFFD')
  })

  it('refuses an id holding one, naming the field and the character', () => {
    expect(isStorableText('a🚀')).toBe(true)
    expect(isStorableText('a\uDFFF')).toBe(false)
    expect(() => assertStorableText('a\uDBFF', 'agentId', 'activity')).toThrow(
      new InvalidOptionsError(
        [
          {
            field: 'agentId',
            message: 'contains U+DBFF (a lone surrogate), which no store can keep; remove it',
          },
        ],
        { subject: 'activity' },
      ),
    )
  })
})
